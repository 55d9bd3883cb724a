/**
 * Frames the relay holds for a partner that is not connected, one queue per link (sender ->
 * partner), in arrival order. A queue whose sender has left is a tombstone: it waits for the
 * partner `tombstoneTimeoutMs` more, then its frames are dropped (and reported). All queues
 * together hold at most `maxBytes`; every operation costs O(1) per frame, never a scan.
 */

/** One link's held frames, as encoded on the wire. */
export interface HeldQueue {
  readonly senderId: string;
  readonly partnerId: string;
  readonly frames: Buffer[];
  bytes: number;
  /** Set while the queue is a tombstone (its sender has left). */
  expiry: NodeJS.Timeout | undefined;
}

export interface HeldFramesCounts {
  heldFrames: number;
  heldBytes: number;
  tombstones: number;
  /** Frames dropped because their tombstone expired, since the start. */
  expiredFrames: number;
}

/**
 * @example
 * const held = new HeldFrames(1 << 30, 600_000, (queue) => log.warn(queue.senderId, 'expired'));
 * held.hold('7_1', '7_2', encodeFrame(state)); // true: kept until 7_2 connects
 * for (const frame of held.takeFor('7_2')) socket.write(frame);
 */
export class HeldFrames {
  private readonly byLink = new Map<string, HeldQueue>();
  private readonly byPartner = new Map<string, Set<HeldQueue>>();
  private readonly counts: HeldFramesCounts = { heldFrames: 0, heldBytes: 0, tombstones: 0, expiredFrames: 0 };

  constructor(
    readonly maxBytes: number,
    private readonly tombstoneTimeoutMs: number,
    /** Called after an expired tombstone's frames were dropped. */
    private readonly onExpired: (queue: HeldQueue) => void,
  ) {}

  status(): HeldFramesCounts {
    return { ...this.counts };
  }

  /** Keep `frame` for `partnerId`; false (and nothing kept) when it would pass {@link maxBytes}. */
  hold(senderId: string, partnerId: string, frame: Buffer): boolean {
    if (this.counts.heldBytes + frame.byteLength > this.maxBytes) return false;
    let queue = this.byLink.get(linkOf(senderId, partnerId));
    if (!queue) {
      queue = { senderId, partnerId, frames: [], bytes: 0, expiry: undefined };
      this.byLink.set(linkOf(senderId, partnerId), queue);
      let forPartner = this.byPartner.get(partnerId);
      if (!forPartner) this.byPartner.set(partnerId, (forPartner = new Set()));
      forPartner.add(queue);
    }
    queue.frames.push(frame);
    queue.bytes += frame.byteLength;
    this.counts.heldFrames++;
    this.counts.heldBytes += frame.byteLength;
    return true;
  }

  /** The sender left: what it left behind becomes a tombstone, dropped if still held after the timeout. */
  senderLeft(senderId: string, partnerId: string): void {
    const queue = this.byLink.get(linkOf(senderId, partnerId));
    if (!queue || queue.expiry) return;
    this.counts.tombstones++;
    queue.expiry = setTimeout(() => {
      this.remove(queue);
      this.counts.expiredFrames += queue.frames.length;
      this.onExpired(queue);
    }, this.tombstoneTimeoutMs);
    queue.expiry.unref();
  }

  /** The sender is back on the same link: its tombstone is a live queue again, its order kept. */
  senderReturned(senderId: string, partnerId: string): void {
    const queue = this.byLink.get(linkOf(senderId, partnerId));
    if (queue?.expiry) this.revive(queue);
  }

  /** Remove and return every frame held for `partnerId`, each link's in arrival order. */
  takeFor(partnerId: string): Buffer[] {
    const queues = this.byPartner.get(partnerId);
    if (!queues) return [];
    const frames: Buffer[] = [];
    for (const queue of queues) {
      this.remove(queue);
      for (const frame of queue.frames) frames.push(frame);
    }
    return frames;
  }

  /** Drop everything (the relay is closing). */
  clear(): void {
    for (const queue of this.byLink.values()) this.remove(queue);
  }

  private remove(queue: HeldQueue): void {
    if (queue.expiry) this.revive(queue);
    this.byLink.delete(linkOf(queue.senderId, queue.partnerId));
    const forPartner = this.byPartner.get(queue.partnerId);
    forPartner?.delete(queue);
    if (forPartner?.size === 0) this.byPartner.delete(queue.partnerId);
    this.counts.heldFrames -= queue.frames.length;
    this.counts.heldBytes -= queue.bytes;
  }

  private revive(queue: HeldQueue): void {
    clearTimeout(queue.expiry);
    queue.expiry = undefined;
    this.counts.tombstones--;
  }
}

// Ids never contain ':' (the hello splits on it), so the pair of them is unambiguous.
function linkOf(senderId: string, partnerId: string): string {
  return `${senderId}:${partnerId}`;
}
