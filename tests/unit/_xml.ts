/**
 * A strict little XML parser for the chart tests: elements, attributes (quoted, unique), text,
 * the five predefined entities and numeric references; throws on anything not well-formed
 * (unclosed or mismatched tags, bare `<` or `&`, a second root, content after the root).
 *
 * @module
 */

/** An element of the parsed tree. */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;
const ENTITY = /^&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/;

function decode(s: string, where: number): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "<") throw new Error(`bare "<" at ${where + i}`);
    if (s[i] !== "&") {
      out += s[i];
      continue;
    }
    const m = ENTITY.exec(s.slice(i));
    if (!m) throw new Error(`bad entity at ${where + i}: ${s.slice(i, i + 10)}`);
    const e = m[1];
    out += e === "amp"
      ? "&"
      : e === "lt"
      ? "<"
      : e === "gt"
      ? ">"
      : e === "quot"
      ? '"'
      : e === "apos"
      ? "'"
      : String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1)));
    i += m[0].length - 1;
  }
  return out;
}

/** Parse `src` (one root element, optional XML declaration) or throw saying where it breaks. */
export function parseXml(src: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const ws = () => {
    while (i < src.length && /\s/.test(src[i])) i++;
  };
  if (src.startsWith("<?xml")) i = src.indexOf("?>") + 2;
  while (i < src.length) {
    if (src[i] !== "<") {
      const end = src.indexOf("<", i);
      const raw = src.slice(i, end < 0 ? src.length : end);
      if (!stack.length && raw.trim()) throw new Error(`text outside the root at ${i}`);
      if (stack.length) stack.at(-1)!.text += decode(raw, i);
      i = end < 0 ? src.length : end;
      continue;
    }
    if (src.startsWith("<!--", i)) {
      const end = src.indexOf("-->", i);
      if (end < 0) throw new Error(`unclosed comment at ${i}`);
      i = end + 3;
      continue;
    }
    if (src[i + 1] === "/") {
      const m = NAME.exec(src.slice(i + 2));
      const top = stack.pop();
      if (!m || !top || top.name !== m[0]) {
        throw new Error(`mismatched </${m?.[0]}> at ${i} (open: ${top?.name ?? "none"})`);
      }
      i += 2 + m[0].length;
      ws();
      if (src[i] !== ">") throw new Error(`bad end tag at ${i}`);
      i++;
      continue;
    }
    const m = NAME.exec(src.slice(i + 1));
    if (!m) throw new Error(`bad tag name at ${i}`);
    if (!stack.length && root) throw new Error(`second root element <${m[0]}> at ${i}`);
    const el: XmlElement = { name: m[0], attrs: {}, children: [], text: "" };
    i += 1 + m[0].length;
    for (;;) {
      const before = i;
      ws();
      if (src.startsWith("/>", i) || src[i] === ">") break;
      if (i === before) throw new Error(`no space before attribute at ${i}`);
      const a = NAME.exec(src.slice(i));
      if (!a) throw new Error(`bad attribute at ${i}: ${src.slice(i, i + 20)}`);
      i += a[0].length;
      if (src[i] !== "=" || (src[i + 1] !== '"' && src[i + 1] !== "'")) {
        throw new Error(`attribute ${a[0]} not quoted at ${i}`);
      }
      const q = src[i + 1], end = src.indexOf(q, i + 2);
      if (end < 0) throw new Error(`unclosed attribute ${a[0]} at ${i}`);
      if (a[0] in el.attrs) throw new Error(`attribute ${a[0]} twice at ${i}`);
      el.attrs[a[0]] = decode(src.slice(i + 2, end), i + 2);
      i = end + 1;
    }
    if (stack.length) stack.at(-1)!.children.push(el);
    else root = el;
    if (src[i] === "/") i += 2;
    else {
      i++;
      stack.push(el);
    }
  }
  if (stack.length) throw new Error(`unclosed <${stack.at(-1)!.name}>`);
  if (!root) throw new Error("no root element");
  return root;
}

/** Every element below (and including) `el`, depth first. */
export function allElements(el: XmlElement): XmlElement[] {
  return [el, ...el.children.flatMap(allElements)];
}
