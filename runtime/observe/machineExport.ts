/**
 * Statecharts people can open: a machine as a Mermaid state diagram, as `createMachine({...})`
 * source that Stately's editor imports, or as XState's JSON definition. Pure: a machine in, text
 * out. Our machines use only named actions, guards and delays with params, so all three formats
 * show names rather than `inline:` placeholders.
 *
 * @example process.stdout.write(exportMachine(png2y4mMachine, 'mermaid'));
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';

export type MachineFormat = 'mermaid' | 'stately' | 'json';
export const MACHINE_FORMATS: readonly MachineFormat[] = ['mermaid', 'stately', 'json'];

/**
 * @example exportMachine(supervisorMachine, 'json') // '{\n  "id": "supervisor", ...'
 */
export function exportMachine(machine: AnyStateMachine, format: MachineFormat): string {
  switch (format) {
    case 'mermaid':
      return toMermaid(machine);
    case 'stately':
      return toStatelySource(machine);
    case 'json':
      return toJsonDefinition(machine);
  }
}

// ---------------------------------------------------------------------------------------------
// What a transition is called in a picture

type Transition = { eventType: string; target?: readonly AnyStateNode[]; guard?: unknown; delay?: unknown };

/** The guards of XState's higher-order `and([...])` guard, if `value` is one. */
function andGuards(value: unknown): readonly unknown[] | undefined {
  if (typeof value !== 'function' || value.name !== 'and') return undefined;
  const guards: unknown = (value as { guards?: unknown }).guards;
  return Array.isArray(guards) ? guards : undefined;
}

/** The name of a guard, action or delay, whatever form XState holds it in (`a && b` for `and([a, b])`). */
function implementationName(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  const all = andGuards(value);
  if (all) return all.map((guard) => implementationName(guard) ?? 'inline').join(' && ');
  if (typeof value === 'number') return `${value} ms`;
  if (typeof value === 'function') return value.name ? `inline:${value.name}` : 'inline';
  if (value && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string') return (value as { type: string }).type;
  return undefined;
}

/** `socket.message [lastAnswerFor]`, `after killTimeout`, `always [loopContinues]`, `done`. */
export function transitionLabel(transition: Transition): string {
  const type = transition.eventType;
  let event: string;
  if (type === '') event = 'always';
  else if (type.startsWith('xstate.after.')) event = `after ${implementationName(transition.delay) ?? type.split('.')[2]}`;
  else if (type.startsWith('xstate.done.state.')) event = 'done';
  else if (type.startsWith('xstate.done.actor.')) event = `done ${type.slice('xstate.done.actor.'.length)}`;
  else if (type.startsWith('xstate.error.actor.')) event = `error ${type.slice('xstate.error.actor.'.length)}`;
  else event = type;
  const guard = implementationName(transition.guard);
  return guard === undefined ? event : `${event} [${guard}]`;
}

function transitionsOf(node: AnyStateNode): Transition[] {
  const list: Transition[] = [];
  for (const group of node.transitions.values()) list.push(...(group as Transition[]));
  if (node.always) list.push(...(node.always as Transition[]));
  return list;
}

// ---------------------------------------------------------------------------------------------
// Mermaid

/**
 * A Mermaid `stateDiagram-v2`. Mermaid cannot draw an arrow between states inside different
 * composite states, so an arrow is drawn between the outermost states that differ (for example
 * every waiting state's timeout to `failed` becomes one arrow from its block to `failed`), and
 * identical arrows are drawn once. Transitions of the machine itself start at "(any state)".
 *
 * @example toMermaid(png2y4mMachine).split('\n')[0] // 'stateDiagram-v2'
 */
export function toMermaid(machine: AnyStateMachine): string {
  const ids = new Map<AnyStateNode, string>();
  const taken = new Set<string>();
  const idOf = (node: AnyStateNode): string => {
    let id = ids.get(node);
    if (id !== undefined) return id;
    const base = `s_${node.path.map((key: string) => key.replace(/\W/g, '_')).join('__')}`;
    id = base;
    for (let n = 2; taken.has(id); n++) id = `${base}_${n}`;
    taken.add(id);
    ids.set(node, id);
    return id;
  };
  // Arrows grouped by the composite state that contains both ends (undefined: the top level).
  const edges = new Map<AnyStateNode | undefined, Set<string>>();
  const anyState = `s_any_${machine.root.key.replace(/\W/g, '_')}`;
  let anyUsed = false;
  const collect = (node: AnyStateNode) => {
    for (const transition of transitionsOf(node)) {
      for (const target of transition.target ?? []) {
        const label = mermaidText(transitionLabel(transition));
        if (node === machine.root) {
          const top = target.path.length > 0 ? ancestorAt(target, 1) : undefined;
          if (!top) continue;
          anyUsed = true;
          addEdge(edges, undefined, `${anyState} --> ${idOf(top)} : ${label}`);
          continue;
        }
        const a: string[] = node.path;
        const b: string[] = target.path;
        let common = 0;
        while (common < a.length && common < b.length && a[common] === b[common]) common++;
        // One end inside the other (a transition to an ancestor or a descendant): draw it one level up.
        if (common === a.length || common === b.length) common--;
        if (common < 0) continue;
        const from = ancestorAt(node, common + 1);
        const to = ancestorAt(target, common + 1);
        if (!from || !to) continue;
        const container = common === 0 ? undefined : ancestorAt(node, common);
        addEdge(edges, container, `${idOf(from)} --> ${idOf(to)} : ${label}`);
      }
    }
    for (const child of Object.values(node.states) as AnyStateNode[]) collect(child);
  };
  collect(machine.root);

  const lines = ['stateDiagram-v2'];
  const emit = (node: AnyStateNode | undefined, indent: string) => {
    const owner = node ?? machine.root;
    const children = Object.values(owner.states) as AnyStateNode[];
    const parallel = owner.type === 'parallel';
    children.forEach((child, i) => {
      if (parallel && i > 0) lines.push(`${indent}--`);
      const id = idOf(child);
      lines.push(`${indent}state "${mermaidText(child.key)}" as ${id}`);
      if (Object.keys(child.states).length > 0) {
        lines.push(`${indent}state ${id} {`);
        emit(child, `${indent}  `);
        lines.push(`${indent}}`);
      }
    });
    if (!parallel) {
      const initial = owner.initial?.target?.[0] as AnyStateNode | undefined;
      if (initial) lines.push(`${indent}[*] --> ${idOf(initial)}`);
      for (const child of children) if (child.type === 'final') lines.push(`${indent}${idOf(child)} --> [*]`);
    }
    if (!node && anyUsed) lines.push(`${indent}state "(any state)" as ${anyState}`);
    for (const edge of edges.get(node) ?? []) lines.push(`${indent}${edge}`);
  };
  emit(undefined, '  ');
  return `${lines.join('\n')}\n`;
}

function ancestorAt(node: AnyStateNode, depth: number): AnyStateNode | undefined {
  let current: AnyStateNode | undefined = node;
  while (current && current.path.length > depth) current = current.parent;
  return current && current.path.length === depth ? current : undefined;
}

function addEdge(edges: Map<AnyStateNode | undefined, Set<string>>, container: AnyStateNode | undefined, edge: string): void {
  let set = edges.get(container);
  if (!set) edges.set(container, (set = new Set()));
  set.add(edge);
}

/** Mermaid reads `;` as a statement end, `#` as an entity and `"` as the end of a label. */
function mermaidText(text: string): string {
  return text.replace(/[;#"\n\r{}]/g, ' ').replace(/\s+/g, ' ').trim();
}

// ---------------------------------------------------------------------------------------------
// Stately (createMachine source)

/** Config keys whose functions are computed at run time and have no place in a diagram. */
const COMPUTED_KEYS = new Set(['context', 'input', 'output']);
const SKIPPED_KEYS = new Set(['types', 'schemas']);

/**
 * `createMachine({...})` source for Stately's editor (import it via "Import code"): the machine's
 * own config with named actions, guards, delays and actors kept as names and params. What is
 * computed from the actor's input (context, invoke input, output) is left out and listed in a
 * comment; xc-orch provides the implementations at run time.
 *
 * @example toStatelySource(png2y4mMachine) // 'import { createMachine } from "xstate";\n...'
 */
export function toStatelySource(machine: AnyStateMachine): string {
  const used: Used = { actions: new Set(), guards: new Set(), delays: new Set(), actors: new Set(), and: false };
  const computed = new Set<string>();
  collectNames(machine.config, used, computed, '');
  const name = `${machine.id.replace(/\W/g, '_')}Machine`;
  const header = [
    `// ${machine.id}: exported by \`xc-orch machines show ${machine.id} --format stately\`.`,
    '// Named implementations, provided by xc-orch at run time (machine.provide({...})):',
    ...(['actions', 'guards', 'delays', 'actors'] as const)
      .filter((kind) => used[kind].size > 0)
      .map((kind) => `//   ${kind}: ${[...used[kind]].sort().join(', ')}`),
    ...(computed.size > 0 ? [`// Computed from the actor's input at run time, left out here: ${[...computed].sort().join(', ')}.`] : []),
  ];
  return `${header.join('\n')}\nimport { ${used.and ? 'and, ' : ''}createMachine } from "xstate";\n\nexport const ${name} = createMachine(${jsValue(machine.config, '', '')});\n`;
}

type Used = { actions: Set<string>; guards: Set<string>; delays: Set<string>; actors: Set<string>; and: boolean };

function collectNames(value: unknown, used: Used, computed: Set<string>, key: string): void {
  if (Array.isArray(value)) {
    for (const item of value) collectNames(item, used, computed, key);
    return;
  }
  if (key === 'entry' || key === 'exit' || key === 'actions') {
    const name = implementationName(value);
    if (name !== undefined) used.actions.add(name);
    return;
  }
  if (key === 'guard') {
    const all = andGuards(value);
    if (all) {
      used.and = true;
      for (const guard of all) collectNames(guard, used, computed, key);
      return;
    }
    const name = implementationName(value);
    if (name !== undefined) used.guards.add(name);
    return;
  }
  if (key === 'src' && typeof value === 'string') {
    used.actors.add(value);
    return;
  }
  if (!value || typeof value !== 'object') return;
  for (const [child, inner] of Object.entries(value)) {
    if (typeof inner === 'function' && COMPUTED_KEYS.has(child)) computed.add(child);
    if (key === 'after' && !/^\d+$/.test(child)) used.delays.add(child);
    collectNames(inner, used, computed, child);
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const WIDTH = 100;

/** JavaScript source for a config value: plain data as literals, functions as their names. */
function jsValue(value: unknown, indent: string, key: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return String(value);
    case 'function': {
      const all = andGuards(value);
      if (all) return `and(${jsValue(all, indent, key)})`;
      return JSON.stringify(implementationName(value) ?? 'inline');
    }
    case 'object':
      break;
    default:
      return 'undefined';
  }
  const inner = `${indent}  `;
  let items: string[];
  let open: string;
  let close: string;
  if (Array.isArray(value)) {
    items = value.map((item) => jsValue(item, inner, key));
    [open, close] = ['[', ']'];
  } else {
    items = [];
    for (const [child, item] of Object.entries(value as Record<string, unknown>)) {
      if (item === undefined || SKIPPED_KEYS.has(child)) continue;
      if (typeof item === 'function' && COMPUTED_KEYS.has(child)) continue;
      items.push(`${IDENTIFIER.test(child) ? child : JSON.stringify(child)}: ${jsValue(item, inner, child)}`);
    }
    [open, close] = ['{', '}'];
  }
  if (items.length === 0) return `${open}${close}`;
  const flat = Array.isArray(value) ? `[${items.join(', ')}]` : `{ ${items.join(', ')} }`;
  if (!flat.includes('\n') && indent.length + flat.length <= WIDTH) return flat;
  return `${open}\n${items.map((item) => `${inner}${item}`).join(',\n')}\n${indent}${close}`;
}

// ---------------------------------------------------------------------------------------------
// JSON

/**
 * XState's JSON definition of the machine (`machine.definition`), plus each state's `always`
 * transitions, which XState's definition leaves out. Functions (computed context, invoke input)
 * are left out; named implementations appear as names with params.
 *
 * @example JSON.parse(toJsonDefinition(png2y4mMachine)).states.configure.initial.target // ['#png2y4m.configure.set_cmdinfile']
 */
export function toJsonDefinition(machine: AnyStateMachine): string {
  const withAlways = (node: AnyStateNode): Record<string, unknown> => {
    const definition = { ...(node.definition as unknown as Record<string, unknown>) };
    const states: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node.states) as Array<[string, AnyStateNode]>) states[key] = withAlways(child);
    definition.states = states;
    if (node.always && node.always.length > 0) definition.always = node.always.map((t: { toJSON?: () => unknown }) => t.toJSON?.() ?? t);
    return definition;
  };
  return `${JSON.stringify(withAlways(machine.root), (_key, value: unknown) => (typeof value === 'function' ? undefined : value), 2)}\n`;
}
