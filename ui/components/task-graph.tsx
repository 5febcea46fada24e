"use client";

import type * as React from "react";
import { useEffect, useRef, useState } from "react";

import { score, usd } from "@/lib/format";
import { edgePath, layoutGraph, NODE_H, NODE_W } from "@/lib/graph-layout";
import { TONE_COLOR, taskOutcome, taskTone } from "@/lib/status";
import type { LiveTask } from "@/lib/use-job";

// About how many characters of 12 px text fit on a node's line.
const LINE_CHARS = 32;

function fit(text: string, chars = LINE_CHARS): string {
  return text.length > chars ? `${text.slice(0, chars - 1)}…` : text;
}

/**
 * The plan as a graph, laid out by dagre so edges go around the boxes; each node shows the
 * task's title, model (the full name on hover) and its score and cost. Wider than the screen
 * (a phone), it scrolls sideways and says so.
 */
export function TaskGraph({
  tasks,
  jobEnded,
  onOpen,
}: {
  tasks: LiveTask[];
  jobEnded: boolean;
  onOpen: (taskId: string) => void;
}) {
  const deps = Object.fromEntries(tasks.map((t) => [t.task_id, t.dependencies ?? []]));
  const byId = new Map(tasks.map((t) => [t.task_id, t]));
  const layout = layoutGraph(
    tasks.map((t) => t.task_id),
    deps,
  );
  const boxRef = useRef<HTMLDivElement>(null);
  const [clipped, setClipped] = useState(false);

  useEffect(() => {
    const box = boxRef.current;
    if (!box) return;
    const check = () => setClipped(box.scrollWidth > box.clientWidth + 1);
    check();
    const observer = new ResizeObserver(check);
    observer.observe(box);
    return () => observer.disconnect();
  }, [layout.width]);

  const key = (id: string) => (e: React.KeyboardEvent) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      onOpen(id);
    }
  };

  return (
    <div className="space-y-1">
      {clipped && (
        <p className="text-xs text-muted-foreground" data-testid="graph-scroll-hint">
          The graph is wider than the screen: scroll sideways to see all {tasks.length} tasks.
        </p>
      )}
      <div
        ref={boxRef}
        className="overflow-x-auto rounded-xl border bg-card p-2 outline-none focus-visible:ring-[3px] focus-visible:ring-ring"
        data-testid="task-graph"
        role="region"
        aria-label="Task dependency graph"
        tabIndex={clipped ? 0 : undefined}
      >
        <svg
          width={layout.width}
          height={layout.height}
          viewBox={`0 0 ${layout.width} ${layout.height}`}
          role="group"
          aria-label={`${tasks.length} tasks and their dependencies`}
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
          {layout.edges.map(({ from, to, points }) => (
            <path
              key={`${from}->${to}`}
              d={edgePath(points)}
              fill="none"
              stroke="var(--muted-foreground)"
              strokeOpacity={0.6}
              strokeWidth={1.5}
              markerEnd="url(#arrow)"
              data-testid="graph-edge"
              data-from={from}
              data-to={to}
            />
          ))}
          {layout.nodes.map((node) => {
            const task = byId.get(node.id);
            const outcome = task ? taskOutcome(task, jobEnded) : "pending";
            const color = TONE_COLOR[taskTone(outcome)];
            const title = task?.title || node.id;
            const model = task?.model ?? (outcome === "pending" ? "not routed yet" : "no model yet");
            return (
              <g
                key={node.id}
                transform={`translate(${node.x},${node.y})`}
                role="button"
                tabIndex={0}
                aria-label={`Task ${node.id}${task?.title ? `: ${task.title}` : ""}, ${outcome}${task?.model ? `, ${task.model}` : ""}. Open details`}
                onClick={() => onOpen(node.id)}
                onKeyDown={key(node.id)}
                className="group cursor-pointer outline-none"
                data-testid="graph-node"
                data-task-id={node.id}
                data-status={task?.status ?? "pending"}
                data-x={node.x}
                data-y={node.y}
                data-w={NODE_W}
                data-h={NODE_H}
              >
                <title>{`${node.id}: ${title}\n${outcome} · ${task?.model ?? "no model yet"}`}</title>
                <rect
                  width={NODE_W}
                  height={NODE_H}
                  rx={8}
                  fill="var(--card)"
                  stroke={color}
                  strokeWidth={1.5}
                />
                <rect width={6} height={NODE_H} rx={3} fill={color} />
                <rect
                  x={-4}
                  y={-4}
                  width={NODE_W + 8}
                  height={NODE_H + 8}
                  rx={11}
                  fill="none"
                  stroke="var(--ring)"
                  strokeWidth={3}
                  className="opacity-0 group-focus-visible:opacity-100"
                />
                <text
                  x={14}
                  y={20}
                  className="fill-foreground text-[12px] font-semibold"
                  data-testid="graph-node-title"
                >
                  {fit(title)}
                </text>
                <text
                  x={14}
                  y={38}
                  className="fill-muted-foreground font-mono text-[11px]"
                  data-testid="graph-node-model"
                >
                  {fit(model, 36)}
                </text>
                <text x={14} y={56} className="fill-foreground text-[11px]" data-testid="graph-node-stats">
                  {outcome} · {score(task?.score)} · {usd(task?.cost ?? 0)}
                </text>
              </g>
            );
          })}
        </svg>
      </div>
    </div>
  );
}
