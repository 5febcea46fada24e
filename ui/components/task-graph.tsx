"use client";

import type * as React from "react";

import { layoutGraph, NODE_H, NODE_W } from "@/lib/graph-layout";
import { TONE_COLOR, taskTone } from "@/lib/status";
import type { LiveTask } from "@/lib/use-job";

/** The plan as a graph: columns by dependency depth, nodes coloured by task status. */
export function TaskGraph({ tasks, onOpen }: { tasks: LiveTask[]; onOpen: (taskId: string) => void }) {
  const deps = Object.fromEntries(tasks.map((t) => [t.task_id, t.dependencies ?? []]));
  const byId = new Map(tasks.map((t) => [t.task_id, t]));
  const layout = layoutGraph(
    tasks.map((t) => t.task_id),
    deps,
  );
  const pos = new Map(layout.nodes.map((n) => [n.id, n]));

  const key = (id: string) => (e: React.KeyboardEvent) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      onOpen(id);
    }
  };

  return (
    <div className="overflow-x-auto rounded-xl border bg-card p-2" data-testid="task-graph">
      <svg
        width={layout.width}
        height={layout.height}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
        role="group"
        aria-label="Task dependency graph"
      >
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="6"
            markerHeight="6"
            orient="auto"
          >
            <path d="M0,0 L10,5 L0,10 z" fill="var(--muted-foreground)" />
          </marker>
        </defs>
        {layout.edges.map(({ from, to }) => {
          const a = pos.get(from);
          const b = pos.get(to);
          if (!a || !b) return null;
          const x1 = a.x + NODE_W;
          const y1 = a.y + NODE_H / 2;
          const x2 = b.x - 2;
          const y2 = b.y + NODE_H / 2;
          const mid = (x1 + x2) / 2;
          return (
            <path
              key={`${from}->${to}`}
              d={`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`}
              fill="none"
              stroke="var(--muted-foreground)"
              strokeOpacity={0.5}
              strokeWidth={1.5}
              markerEnd="url(#arrow)"
            />
          );
        })}
        {layout.nodes.map((node) => {
          const task = byId.get(node.id);
          const status = task?.status ?? "pending";
          const color = TONE_COLOR[taskTone(status)];
          return (
            <g
              key={node.id}
              transform={`translate(${node.x},${node.y})`}
              role="button"
              tabIndex={0}
              aria-label={`Task ${node.id}, ${status}. Open details`}
              onClick={() => onOpen(node.id)}
              onKeyDown={key(node.id)}
              className="cursor-pointer outline-none [&:focus-visible>rect]:stroke-[3]"
              data-testid="graph-node"
              data-status={status}
            >
              <rect
                width={NODE_W}
                height={NODE_H}
                rx={8}
                fill={color}
                fillOpacity={0.12}
                stroke={color}
                strokeWidth={1.5}
              />
              <text x={10} y={20} className="fill-foreground font-mono text-[12px] font-semibold">
                {node.id.length > 20 ? `${node.id.slice(0, 19)}…` : node.id}
              </text>
              <text x={10} y={37} className="fill-muted-foreground text-[11px]">
                {status}
                {task?.model
                  ? ` · ${task.model.length > 16 ? `${task.model.slice(0, 15)}…` : task.model}`
                  : ""}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}
