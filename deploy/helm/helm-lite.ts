// TEST ONLY. Renders deploy/helm/optio without the helm binary (none can be installed here), for
// the chart's offline test. It implements the subset of Go templates and Sprig the chart uses, and
// fails loudly on anything else, so a template that strays from the subset cannot pass unnoticed:
//   {{ .Values.a.b }} {{ .Release.Name }} {{ .Chart.AppVersion }} {{ $var }}   values
//   {{ $.Values.a }} (the root, also inside range)                             values
//   {{- … -}}                                                                  whitespace trim
//   if / else / end, range $k, $v := … (a map by sorted key, a list in order),  actions
//   define, include
//   quote, default, toYaml, nindent, not, int, until                           functions
// Inside range, `.` is the element in Helm: a `.Values…` path there throws (write `$.Values…`).
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { stringify } from "yaml";

type Scope = { root: Record<string, unknown>; vars: Record<string, unknown>; inRange?: boolean };
type Node =
  | { kind: "text"; text: string }
  | { kind: "expr"; expr: string }
  | { kind: "if"; cond: string; then: Node[]; else: Node[] }
  | { kind: "range"; key: string; value: string; expr: string; body: Node[] };

/** Splits a template into text and actions, applying `{{-` and `-}}` trimming. */
function tokenize(source: string): { kind: "text" | "action"; text: string }[] {
  const tokens: { kind: "text" | "action"; text: string }[] = [];
  const re = /\{\{(-?)\s*([\s\S]*?)\s*(-?)\}\}/g;
  let last = 0;
  let trimNext = false;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    let text = source.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, "");
    if (m[1]) text = text.replace(/\s+$/, "");
    tokens.push({ kind: "text", text });
    tokens.push({ kind: "action", text: m[2]! });
    trimNext = m[3] === "-";
    last = re.lastIndex;
  }
  let rest = source.slice(last);
  if (trimNext) rest = rest.replace(/^\s+/, "");
  tokens.push({ kind: "text", text: rest });
  return tokens;
}

function parse(tokens: ReturnType<typeof tokenize>, defines: Map<string, Node[]>): Node[] {
  let i = 0;
  const block = (stops: string[]): { nodes: Node[]; stop: string } => {
    const nodes: Node[] = [];
    while (i < tokens.length) {
      const token = tokens[i++]!;
      if (token.kind === "text") {
        if (token.text) nodes.push({ kind: "text", text: token.text });
        continue;
      }
      const action = token.text;
      if (action.startsWith("/*")) continue;
      const word = action.split(/\s+/)[0]!;
      if (stops.includes(word)) return { nodes, stop: word };
      if (word === "if") {
        const then = block(["else", "end"]);
        const otherwise = then.stop === "else" ? block(["end"]).nodes : [];
        nodes.push({ kind: "if", cond: action.slice(2).trim(), then: then.nodes, else: otherwise });
      } else if (word === "range") {
        const m = /^range\s+(\$\w+)\s*,\s*(\$\w+)\s*:=\s*(.+)$/.exec(action);
        if (!m) throw new Error(`unsupported range: ${action}`);
        nodes.push({ kind: "range", key: m[1]!, value: m[2]!, expr: m[3]!, body: block(["end"]).nodes });
      } else if (word === "define") {
        const name = JSON.parse(action.slice(6).trim()) as string;
        defines.set(name, block(["end"]).nodes);
      } else if (["else", "end", "with", "template", "block"].includes(word)) {
        throw new Error(`unsupported or unbalanced action: ${action}`);
      } else nodes.push({ kind: "expr", expr: action });
    }
    if (stops.length) throw new Error(`missing {{ end }} (expected ${stops.join("/")})`);
    return { nodes, stop: "" };
  };
  return block([]).nodes;
}

/** Splits on spaces outside quotes. */
const words = (text: string) => text.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];

export class HelmLite {
  private readonly defines = new Map<string, Node[]>();
  private readonly templates = new Map<string, Node[]>();

  constructor(chartDir: string) {
    const dir = path.join(chartDir, "templates");
    for (const file of readdirSync(dir).sort()) {
      const nodes = parse(tokenize(readFileSync(path.join(dir, file), "utf8")), this.defines);
      if (!file.startsWith("_")) this.templates.set(file, nodes);
    }
  }

  /** Every template rendered, by file name. */
  render(root: Record<string, unknown>): Map<string, string> {
    const out = new Map<string, string>();
    for (const [file, nodes] of this.templates) out.set(file, this.run(nodes, { root, vars: {} }));
    return out;
  }

  private run(nodes: Node[], scope: Scope): string {
    let out = "";
    for (const node of nodes) {
      if (node.kind === "text") out += node.text;
      else if (node.kind === "expr") out += this.format(this.pipeline(node.expr, scope));
      else if (node.kind === "if")
        out += this.run(truthy(this.pipeline(node.cond, scope)) ? node.then : node.else, scope);
      else {
        const over = this.pipeline(node.expr, scope) ?? {};
        const entries: [unknown, unknown][] = Array.isArray(over)
          ? over.map((value, index) => [index, value])
          : Object.keys(over as Record<string, unknown>)
              .sort()
              .map((key) => [key, (over as Record<string, unknown>)[key]]);
        for (const [key, value] of entries)
          out += this.run(node.body, {
            ...scope,
            inRange: true,
            vars: { ...scope.vars, [node.key]: key, [node.value]: value },
          });
      }
    }
    return out;
  }

  private format(value: unknown): string {
    if (value === undefined || value === null) return "";
    if (typeof value === "object") throw new Error("a map or list printed without toYaml");
    return String(value);
  }

  private value(word: string, scope: Scope): unknown {
    if (word.startsWith('"')) return JSON.parse(word) as string;
    if (/^-?\d+$/.test(word)) return Number(word);
    if (word === "$") return scope.root;
    if (word.startsWith("$.")) return this.path(word.slice(1), scope.root);
    if (word.startsWith("$")) return scope.vars[word];
    if (scope.inRange && word.startsWith("."))
      throw new Error(`${word} inside range: there '.' is the element in Helm, write $${word}`);
    if (word === ".") return scope.root;
    if (!word.startsWith(".")) throw new Error(`unsupported value: ${word}`);
    return this.path(word, scope.root);
  }

  private path(dotted: string, root: Record<string, unknown>): unknown {
    return dotted
      .slice(1)
      .split(".")
      .reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], root);
  }

  private pipeline(expr: string, scope: Scope): unknown {
    let result: unknown;
    expr.split(/\s+\|\s+/).forEach((command, index) => {
      const [head, ...args] = words(command);
      const values = args.map((a) => this.value(a, scope));
      if (index > 0) values.push(result);
      else if (!FUNCTIONS.has(head!)) {
        result = this.value(head!, scope);
        return;
      }
      result = this.call(head!, values, scope);
    });
    return result;
  }

  private call(name: string, args: unknown[], scope: Scope): unknown {
    switch (name) {
      case "quote":
        return JSON.stringify(this.format(args[0]));
      case "default":
        return truthy(args[1]) ? args[1] : args[0];
      case "not":
        return !truthy(args[0]);
      case "toYaml":
        return stringify(args[0] ?? {}).trimEnd();
      case "nindent": {
        const pad = " ".repeat(Number(args[0]));
        return `\n${String(args[1])
          .split("\n")
          .map((line) => (line ? pad + line : line))
          .join("\n")}`;
      }
      case "int": {
        const n = Number(args[0]);
        if (!Number.isFinite(n)) throw new Error(`int of ${String(args[0])}`);
        return Math.trunc(n);
      }
      case "until": {
        if (!Number.isInteger(args[0])) throw new Error("until wants an int (pipe through int first)");
        return Array.from({ length: Math.max(0, args[0] as number) }, (_, i) => i);
      }
      case "include": {
        const nodes = this.defines.get(String(args[0]));
        if (!nodes) throw new Error(`no template named ${String(args[0])}`);
        return this.run(nodes, { root: args[1] as Record<string, unknown>, vars: {} }).trim();
      }
    }
    throw new Error(`unsupported function ${name} in ${JSON.stringify(scope.vars)}`);
  }
}

const FUNCTIONS = new Set(["quote", "default", "not", "toYaml", "nindent", "include", "int", "until"]);

function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value && typeof value === "object") return Object.keys(value).length > 0;
  return Boolean(value);
}
