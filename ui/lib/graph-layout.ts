// The task graph's layout, by dagre (a layered, left-to-right Sugiyama layout): nodes in
// columns by dependency depth, ordered to keep crossings few, and edges routed around the
// boxes (as polylines through dagre's bend points) instead of straight through them.
import { graphlib, layout } from "@dagrejs/dagre";

export interface GraphNode {
  id: string;
  /** Top-left corner. */
  x: number;
  y: number;
}

export interface GraphEdge {
  from: string;
  to: string;
  points: { x: number; y: number }[];
}

export interface GraphLayout {
  nodes: GraphNode[];
  edges: GraphEdge[];
  width: number;
  height: number;
}

export const NODE_W = 232;
export const NODE_H = 68;
const PAD = 12;

export function layoutGraph(ids: string[], deps: Record<string, string[]>): GraphLayout {
  const g = new graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 20, ranksep: 56, edgesep: 12, marginx: PAD, marginy: PAD });
  g.setDefaultEdgeLabel(() => ({}));
  const known = new Set(ids);
  for (const id of ids) g.setNode(id, { width: NODE_W, height: NODE_H });
  const edges: { from: string; to: string }[] = [];
  for (const id of ids) {
    for (const d of deps[id] ?? []) {
      if (!known.has(d) || d === id) continue;
      g.setEdge(d, id);
      edges.push({ from: d, to: id });
    }
  }
  layout(g);
  const nodes = ids.map((id) => {
    const n = g.node(id);
    return { id, x: (n?.x ?? 0) - NODE_W / 2, y: (n?.y ?? 0) - NODE_H / 2 };
  });
  const graph = g.graph();
  const at = new Map(nodes.map((n) => [n.id, n]));
  return {
    nodes,
    edges: edges.map((e) => ({
      ...e,
      points: ported(g.edge(e.from, e.to)?.points ?? [], at.get(e.from), at.get(e.to)),
    })),
    width: Math.ceil(graph.width ?? NODE_W + 2 * PAD),
    height: Math.ceil(graph.height ?? NODE_H + 2 * PAD),
  };
}

type Point = { x: number; y: number };

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/**
 * Dagre aims an edge's ends at the boxes' centres, so its last leg can cut through a
 * neighbour's corner. Instead, an edge leaves its source's right side and enters its target's
 * left side, level with the nearest bend: both legs then stay in the gap between columns.
 */
function ported(points: Point[], from: GraphNode | undefined, to: GraphNode | undefined): Point[] {
  if (!from || !to || points.length < 2) return points;
  const inner = points.slice(1, -1);
  const first = inner[0] ?? points[points.length - 1];
  const last = inner[inner.length - 1] ?? points[0];
  const port = (n: GraphNode, y: number | undefined, side: number): Point => ({
    x: n.x + side,
    y: clamp(y ?? n.y + NODE_H / 2, n.y + 10, n.y + NODE_H - 10),
  });
  return [port(from, first?.y, NODE_W), ...inner, port(to, last?.y, 0)];
}

/** An SVG path through the points: each leg an S-curve with level ends, within its own span. */
export function edgePath(points: Point[]): string {
  const [first, ...rest] = points;
  if (!first) return "";
  let d = `M${first.x},${first.y}`;
  let prev = first;
  for (const p of rest) {
    const mx = (prev.x + p.x) / 2;
    d += ` C${mx},${prev.y} ${mx},${p.y} ${p.x},${p.y}`;
    prev = p;
  }
  return d;
}
