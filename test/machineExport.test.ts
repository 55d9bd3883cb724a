/**
 * Statechart export: the Stately source rebuilds each machine with the same states and
 * transitions (checked by evaluating it with xstate's createMachine), the JSON is XState's
 * definition (with `always`), and the Mermaid diagram never draws an arrow Mermaid refuses.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { and, createMachine, type AnyStateMachine, type AnyStateNode } from 'xstate';
import { describe, expect, it } from 'vitest';
import { MACHINES, run as machinesCli } from '../cli/machines.js';
import { commandList, forLoop, ifInfo, infoWatcher, pipelined, sequence, superposition } from '../machines/blocks.js';
import { createConnectionMachine } from '../machines/connectionMachine.js';
import { exportMachine, toJsonDefinition, toMermaid, toStatelySource } from '../runtime/observe/machineExport.js';
import { captureOutput, type CapturedRun } from './support/captureOutput.js';

/** Every building block at least once, including parallel regions and nested composites. */
const everyBlock = createConnectionMachine({
  id: 'every',
  vars: (input: { n: number }) => ({ n: input.n, last: 3 }),
  blocks: [
    pipelined('setup', ['set:a:1', 'seti:b:{n}']),
    superposition('fetch', [commandList('left', ['retrieve:L\0l.png']), sequence('right', [commandList('r1', ['echo:1']), commandList('r2', ['geti:x'])])]),
    ifInfo('decide', { test: { key: 'x', equals: '1' }, then: commandList('yes', ['echo:yes']), else: commandList('no', ['echo:no']) }),
    forLoop('loop', { counter: 'i', from: 1, to: 'last', body: commandList('body', ['echo:{i}']), until: { key: 'stop', present: true } }),
    infoWatcher('watch', { key: 'ready', present: true }),
  ],
});

const cases: Array<[string, AnyStateMachine]> = [...Object.entries(MACHINES).map(([name, { machine }]): [string, AnyStateMachine] => [name, machine]), ['every block', everyBlock]];

/** An action, guard or delay as comparable data: builtins by their XState type, named ones with params. */
function normal(value: unknown): unknown {
  // XState's builtins by their type; a function of our own (a computed command) as the exporter's placeholder.
  if (typeof value === 'function') {
    // XState's `and([...])`: compared by the guards it combines.
    const guards: unknown = (value as { guards?: unknown }).guards;
    if (value.name === 'and' && Array.isArray(guards)) return { and: guards.map(normal) };
    const type = (value as { type?: string }).type;
    return type !== undefined ? { builtin: type } : `inline:${value.name}`;
  }
  if (Array.isArray(value)) return value.map(normal);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, normal(v)]));
  }
  return value;
}

type Shape = Record<string, unknown>;

/** States (by id) with their type, initial child, entry/exit, and every transition. */
function shape(machine: AnyStateMachine): Shape {
  const out: Shape = {};
  const visit = (node: AnyStateNode) => {
    const transitions: unknown[] = [];
    for (const [event, group] of node.transitions) {
      for (const t of group) {
        transitions.push({ event, target: t.target?.map((s: AnyStateNode) => s.id), guard: normal(t.guard), actions: normal(t.actions), reenter: t.reenter, delay: normal((t as { delay?: unknown }).delay) });
      }
    }
    for (const t of node.always ?? []) transitions.push({ event: 'always', target: t.target?.map((s: AnyStateNode) => s.id), guard: normal(t.guard), actions: normal(t.actions) });
    out[node.id] = {
      type: node.type,
      initial: node.initial?.target?.map((s: AnyStateNode) => s.id),
      entry: normal(node.entry),
      exit: normal(node.exit),
      invoke: node.invoke.map((i: { id: string; src: unknown }) => ({ id: i.id, src: normal(i.src) })),
      transitions,
    };
    for (const child of Object.values(node.states) as AnyStateNode[]) visit(child);
  };
  visit(machine.root);
  return out;
}

/** Evaluate exported Stately source the way an editor would: its one createMachine call. */
function rebuild(source: string): AnyStateMachine {
  const body = source.replace(/^import .*$/m, '').replace(/^export const \w+ = /m, 'return ');
  return new Function('createMachine', 'and', body)(createMachine, and) as AnyStateMachine;
}

describe('stately export', () => {
  it.each(cases)('%s: the exported source rebuilds the same states and transitions', (_name, machine) => {
    const source = toStatelySource(machine);
    // `and` is imported where a step's answer also decides a loop (`lastAnswerFor && loopHasNext`).
    expect(source).toMatch(/^import \{ (and, )?createMachine \} from "xstate";$/m);
    const rebuilt = rebuild(source);
    const [original, copy] = [shape(machine), shape(rebuilt)];
    expect(Object.keys(copy).sort()).toEqual(Object.keys(original).sort());
    expect(copy).toEqual(original);
  });

  it('names the implementations xc-orch provides and leaves out what is computed from the input', () => {
    const source = toStatelySource(MACHINES.supervisor!.machine);
    expect(source).toContain('//   actors: launcher');
    expect(source).toContain('//   delays: killTimeout');
    expect(source).toMatch(/guards: .*helloAdmissible/);
    expect(source).toContain('left out here: context, input, output');
    expect(source).not.toMatch(/=>|function/);
  });

  it("writes a combined guard as xstate's and([...]) of named guards", () => {
    const source = toStatelySource(MACHINES.png2y4m!.machine);
    expect(source).toMatch(/^import \{ and, createMachine \} from "xstate";$/m);
    expect(source).toMatch(/guard: and\(\[\s*\{ type: "lastAnswerFor", params: \{ region: "", expect: "OK:RETVAL\(0\)" \} \},\s*\{ type: "loopHasNext", params: \{ counter: "frame", to: "lastFrame" \} \}\s*\]\)/);
    expect(source).toMatch(/guards: .*lastAnswerFor.*loopHasNext/);
  });

  it('turns an inline function into a visible placeholder instead of dropping it', () => {
    const machine = createMachine({ id: 'inline', initial: 'a', states: { a: { on: { go: { target: 'b', guard: function ready() { return true; } } } }, b: {} } });
    const source = toStatelySource(machine);
    expect(source).toContain('guard: "inline:ready"');
    expect(shape(rebuild(source))['inline.a']).toMatchObject({ transitions: [{ event: 'go', target: ['inline.b'], guard: 'inline:ready' }] });
  });
});

describe('json export', () => {
  it.each(cases)('%s: XState definition with every state and the always transitions', (_name, machine) => {
    const json = JSON.parse(toJsonDefinition(machine)) as Record<string, unknown>;
    const ids: string[] = [];
    const alwaysCount = { json: 0, machine: 0 };
    const walk = (node: Record<string, unknown>) => {
      ids.push(node.id as string);
      alwaysCount.json += (node.always as unknown[] | undefined)?.length ?? 0;
      for (const child of Object.values(node.states as Record<string, Record<string, unknown>>)) walk(child);
    };
    walk(json);
    expect(ids.sort()).toEqual(Object.keys(shape(machine)).sort());
    const count = (node: AnyStateNode): number => (node.always?.length ?? 0) + (Object.values(node.states) as AnyStateNode[]).reduce((s, c) => s + count(c), 0);
    alwaysCount.machine = count(machine.root);
    expect(alwaysCount.json).toBe(alwaysCount.machine);
  });

  it('keeps named guards with params and resolved targets', () => {
    const json = JSON.parse(toJsonDefinition(MACHINES.png2y4m!.machine));
    const check = json.states.retrieveLoop.states.check;
    expect(check.always[0]).toMatchObject({ guard: { type: 'loopContinues', params: { counter: 'frame', to: 'lastFrame' } }, target: ['#png2y4m.retrieveLoop.frame'] });
    expect(json.states.configure.initial.target).toEqual(['#png2y4m.configure.set_cmdinfile']);
  });
});

/** Parse our Mermaid output back into blocks: which ids each block declares and which edges it draws. */
function mermaidBlocks(text: string) {
  const lines = text.trim().split('\n');
  expect(lines[0]).toBe('stateDiagram-v2');
  const stack: Array<{ declared: Set<string>; edges: Array<[string, string]> }> = [{ declared: new Set(), edges: [] }];
  const all: typeof stack = [stack[0]!];
  const labels = new Map<string, string>();
  for (const raw of lines.slice(1)) {
    const line = raw.trim();
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^state "([^"]*)" as (\w+)$/))) {
      stack[stack.length - 1]!.declared.add(m[2]!);
      labels.set(m[2]!, m[1]!);
    } else if ((m = line.match(/^state (\w+) \{$/))) {
      expect(stack[stack.length - 1]!.declared.has(m[1]!)).toBe(true);
      const block = { declared: new Set<string>(), edges: [] as Array<[string, string]> };
      stack.push(block);
      all.push(block);
    } else if (line === '}') {
      stack.pop();
      expect(stack.length).toBeGreaterThan(0);
    } else if ((m = line.match(/^(\[\*\]|\w+) --> (\[\*\]|\w+)( : [^;#"]+)?$/))) {
      stack[stack.length - 1]!.edges.push([m[1]!, m[2]!]);
    } else if (line !== '--') {
      throw new Error(`unexpected Mermaid line: ${line}`);
    }
  }
  expect(stack).toHaveLength(1);
  return { blocks: all, labels };
}

describe('mermaid export', () => {
  it.each(cases)('%s: every state drawn once; arrows only between states of the same block', (_name, machine) => {
    const { blocks, labels } = mermaidBlocks(toMermaid(machine));
    const states = Object.keys(shape(machine)).filter((id) => id !== machine.id);
    const declared = blocks.flatMap((b) => [...b.declared]).filter((id) => !id.startsWith('s_any_'));
    expect(declared).toHaveLength(states.length);
    expect(new Set(declared).size).toBe(declared.length);
    expect([...labels.values()]).toEqual(expect.arrayContaining(states.map((id) => id.slice(id.lastIndexOf('.') + 1))));
    for (const block of blocks) {
      for (const [from, to] of block.edges) {
        if (from !== '[*]') expect(block.declared, `${from} drawn outside its block`).toContain(from);
        if (to !== '[*]') expect(block.declared, `${to} drawn outside its block`).toContain(to);
      }
    }
  });

  it('lifts timeouts to the block, marks the start and the ends, and labels events and guards', () => {
    const text = toMermaid(MACHINES.png2y4m!.machine);
    expect(text).toContain('  [*] --> s_configure\n');
    expect(text).toContain('  s_done --> [*]\n');
    expect(text).toContain('  s_failed --> [*]\n');
    expect(text).toContain('s_configure --> s_failed : answer.timeout');
    expect(text).toContain('s_retrieveLoop__check --> s_retrieveLoop__frame : always [loopContinues]');
    // The body's last answer starts the next iteration itself (no `end` state and `done` event in between).
    expect(text).toContain('s_retrieveLoop__frame --> s_retrieveLoop__frame : socket.message [lastAnswerFor && loopHasNext]');
    expect(text).toContain('s_configure__set_cmdinfile --> s_configure__set_cmdoutfile : socket.message [lastAnswerFor]');
    expect(text).toContain('s_any_png2y4m --> s_failed : socket.closed');
    // Lifted arrows are drawn once, not once per waiting state.
    expect(text.split('s_configure --> s_failed : answer.timeout').length).toBe(2);
  });

  it("is what the README shows for the supervisor", () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    expect(readme).toContain(`\`\`\`mermaid\n${toMermaid(MACHINES.supervisor!.machine)}\`\`\``);
  });

  it('separates the regions of a parallel state', () => {
    const text = toMermaid(everyBlock);
    const fetch = text.slice(text.indexOf('state s_fetch {'));
    expect(fetch.split('\n').slice(0, 12).map((l) => l.trim())).toContain('--');
  });
});

describe('xc-orch machines', () => {
  const xc = (argv: string[]) => captureOutput(() => machinesCli(argv));

  it('lists the machines with their number of states', async () => {
    const { code, stdout } = await xc([]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^supervisor +2 states/m);
    expect(stdout).toMatch(/^png2y4m +\d+ states/m);
  });

  it('prints each format, mermaid by default', async () => {
    const mermaid = await xc(['show', 'png2y4m']);
    const stately = await xc(['show', 'png2y4m', '--format', 'stately']);
    const json = await xc(['show', 'supervisor', '-f', 'json']);
    expect([mermaid.code, stately.code, json.code]).toEqual([0, 0, 0]);
    expect(mermaid.stdout).toBe(exportMachine(MACHINES.png2y4m!.machine, 'mermaid'));
    expect(stately.stdout).toBe(toStatelySource(MACHINES.png2y4m!.machine));
    expect(JSON.parse(json.stdout).id).toBe('supervisor');
  });

  it('refuses unknown machines, formats and actions with exit code 2', async () => {
    const refused: CapturedRun[] = [];
    for (const argv of [['show', 'nope'], ['show', 'png2y4m', '--format', 'dot'], ['draw'], ['show'], ['show', 'toString']]) {
      refused.push(await xc(argv));
    }
    expect(refused.map((run) => run.code)).toEqual([2, 2, 2, 2, 2]);
    expect(refused[0]!.stderr).toContain("no machine named 'nope' (known: supervisor, png2y4m, vpxenc, map, xcenc; or a job file)");
    expect(refused[1]!.stderr).toContain('--format must be one of mermaid, stately, json');
  });
});
