// A layered left-to-right layout for the task graph: a task's column is the length of the
// longest dependency chain above it; within a column, tasks sit near their parents.

export interface GraphNode {
  id: string;
  layer: number;
  row: number;
  x: number;
  y: number;
}

export interface GraphEdge {
  from: string;
  to: string;
}

export interface GraphLayout {
  nodes: GraphNode[];
  edges: GraphEdge[];
  width: number;
  height: number;
}

export const NODE_W = 168;
export const NODE_H = 48;
const GAP_X = 56;
const GAP_Y = 16;
const PAD = 8;

export function layoutGraph(ids: string[], deps: Record<string, string[]>): GraphLayout {
  const known = new Set(ids);
  const layer = new Map<string, number>();
  const visiting = new Set<string>();

  const depth = (id: string): number => {
    const cached = layer.get(id);
    if (cached !== undefined) return cached;
    if (visiting.has(id)) return 0; // a cycle cannot come from a valid plan; do not hang on one
    visiting.add(id);
    const parents = (deps[id] ?? []).filter((d) => known.has(d));
    const value = parents.length === 0 ? 0 : 1 + Math.max(...parents.map(depth));
    visiting.delete(id);
    layer.set(id, value);
    return value;
  };
  for (const id of ids) depth(id);

  const columns: string[][] = [];
  for (const id of ids) {
    const l = layer.get(id) ?? 0;
    (columns[l] ??= []).push(id);
  }

  const row = new Map<string, number>();
  columns.forEach((column, l) => {
    if (l > 0) {
      // Order by the mean row of the parents, to keep edges short and crossings few.
      const weight = (id: string) => {
        const parents = (deps[id] ?? []).filter((d) => row.has(d));
        return parents.length ? parents.reduce((s, p) => s + (row.get(p) ?? 0), 0) / parents.length : 0;
      };
      column.sort((a, b) => weight(a) - weight(b) || a.localeCompare(b));
    }
    column.forEach((id, r) => row.set(id, r));
  });

  const tallest = Math.max(1, ...columns.map((c) => c?.length ?? 0));
  const height = PAD * 2 + tallest * NODE_H + (tallest - 1) * GAP_Y;
  const nodes: GraphNode[] = [];
  columns.forEach((column, l) => {
    const columnHeight = column.length * NODE_H + (column.length - 1) * GAP_Y;
    const top = (height - columnHeight) / 2;
    column.forEach((id, r) => {
      nodes.push({ id, layer: l, row: r, x: PAD + l * (NODE_W + GAP_X), y: top + r * (NODE_H + GAP_Y) });
    });
  });
  const edges: GraphEdge[] = [];
  for (const id of ids) {
    for (const d of deps[id] ?? []) if (known.has(d)) edges.push({ from: d, to: id });
  }
  const width = PAD * 2 + columns.length * NODE_W + Math.max(0, columns.length - 1) * GAP_X;
  return { nodes, edges, width, height };
}
