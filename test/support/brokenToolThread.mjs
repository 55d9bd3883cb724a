// A tool thread entry that fails while loading, before it could have touched any file.
throw new Error('this thread entry is broken on purpose');
