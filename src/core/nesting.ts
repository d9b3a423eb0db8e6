/**
 * Nesting depth of decoded JSON values. Recursive code (schema validation, document
 * readers) over a value nested thousands of levels deep exhausts the stack, which the
 * client would see as a 500; this walk is iterative, so callers refuse such input up
 * front with a 400 naming the field.
 */

interface Frame {
  v: object;
  depth: number;
  parent: Frame | undefined;
  key: string | number;
}

/**
 * The path (`a.b[3].c`) of the first array or object found deeper than `maxDepth` levels
 * in `value` (the value itself, when it is an object or array, is level 1); undefined when
 * none is. `root` names the value itself in the path.
 */
export function findTooDeep(value: unknown, maxDepth: number, root = ''): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const stack: Frame[] = [{ v: value, depth: 1, parent: undefined, key: root }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.depth > maxDepth) return pathOf(frame);
    const { v, depth } = frame;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) {
        const child: unknown = v[i];
        if (typeof child === 'object' && child !== null) stack.push({ v: child, depth: depth + 1, parent: frame, key: i });
      }
    } else {
      for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
        if (typeof child === 'object' && child !== null) stack.push({ v: child, depth: depth + 1, parent: frame, key: k });
      }
    }
  }
  return undefined;
}

function pathOf(frame: Frame): string {
  const keys: (string | number)[] = [];
  for (let f: Frame | undefined = frame; f; f = f.parent) keys.push(f.key);
  let out = '';
  for (const k of keys.reverse()) {
    if (typeof k === 'number') out += `[${k}]`;
    else if (k !== '') out += out === '' ? k : `.${k}`;
  }
  return out;
}
