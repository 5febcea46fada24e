"use client";

import { ChevronLeft, ChevronRight, Search } from "lucide-react";
import dynamic from "next/dynamic";
import Link from "next/link";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { Suspense, useEffect, useMemo, useState } from "react";

import type { CostPoint } from "@/components/charts/cost-chart";
import { ErrorState } from "@/components/error-state";
import { HistoryTable } from "@/components/history-table";
import { PageHeader } from "@/components/page-header";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Input, NativeSelect } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/skeleton";
import { api } from "@/lib/api";
import { JOB_STATUSES } from "@/lib/status";
import { usePoll } from "@/lib/use-poll";

// Recharts loads with the chart, after the table: it stays out of the page's first load.
const CostChart = dynamic(() => import("@/components/charts/cost-chart").then((m) => m.CostChart), {
  ssr: false,
  loading: () => <Skeleton className="h-[260px]" />,
});

const PAGE_SIZES = [10, 20, 50, 100];
const DEFAULT_PAGE_SIZE = 20;
const CHART_JOBS = 200;

function HistoryView() {
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const q = params.get("q") ?? "";
  const status = params.get("status") ?? "";
  const page = Math.max(1, Number(params.get("page") ?? "1") || 1);
  const asked = Number(params.get("limit") ?? DEFAULT_PAGE_SIZE) || DEFAULT_PAGE_SIZE;
  const pageSize = Math.min(100, Math.max(1, Math.floor(asked)));
  const [search, setSearch] = useState(q);

  const setParams = (next: Record<string, string>) => {
    const merged = new URLSearchParams(params.toString());
    for (const [k, v] of Object.entries(next)) {
      if (v) merged.set(k, v);
      else merged.delete(k);
    }
    const s = merged.toString();
    router.replace(s ? `${pathname}?${s}` : pathname, { scroll: false });
  };

  // Search as you type, a moment after the last key.
  useEffect(() => {
    if (search === q) return;
    const timer = setTimeout(() => setParams({ q: search.trim(), page: "" }), 300);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [search]);

  const list = usePoll(
    () => api.jobs.list({ q, status, limit: pageSize, offset: (page - 1) * pageSize }),
    10_000,
    [q, status, page, pageSize],
  );
  // The chart shows the jobs the filters select, like the table (all pages of them).
  const recent = usePoll(() => api.jobs.list({ q, status, limit: CHART_JOBS }), 30_000, [q, status]);

  const chart: CostPoint[] = useMemo(() => {
    const items = [...(recent.data?.items ?? [])].sort((a, b) => a.created_at - b.created_at);
    let total = 0;
    return items.map((j) => {
      total += j.total_cost;
      return { job_id: j.job_id, ts: j.created_at, cost: j.total_cost, cumulative: total };
    });
  }, [recent.data]);

  const total = list.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const from = total === 0 ? 0 : (page - 1) * pageSize + 1;
  const to = Math.min(total, page * pageSize);
  const refresh = () => {
    list.refresh();
    recent.refresh();
  };

  return (
    <div className="mx-auto max-w-6xl space-y-6">
      <PageHeader title="History" />

      {chart.length > 1 && (
        <Card>
          <CardHeader>
            <CardTitle className="text-sm" data-testid="chart-title">
              Cost over time:{" "}
              {chart.length < (recent.data?.total ?? 0)
                ? `the ${chart.length} most recent of ${recent.data?.total} matching jobs`
                : `${chart.length} ${q || status ? "matching " : ""}jobs`}
            </CardTitle>
          </CardHeader>
          <CardContent>
            <CostChart data={chart} />
          </CardContent>
        </Card>
      )}

      <form
        role="search"
        className="flex flex-wrap items-end gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          setParams({ q: search.trim(), page: "" });
        }}
      >
        <div className="flex min-w-56 flex-1 flex-col gap-1.5">
          <Label htmlFor="history-q">Search descriptions</Label>
          <div className="relative">
            <Search className="pointer-events-none absolute top-2.5 left-2.5 size-4 text-muted-foreground" />
            <Input
              id="history-q"
              type="search"
              className="pl-8"
              placeholder="Search…"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
            />
          </div>
        </div>
        <div className="flex flex-col gap-1.5">
          <Label htmlFor="history-status">Status</Label>
          <NativeSelect
            id="history-status"
            value={status}
            onChange={(e) => setParams({ status: e.target.value, page: "" })}
            className="w-40"
          >
            <option value="">All</option>
            {JOB_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </NativeSelect>
        </div>
      </form>

      {list.error && <ErrorState error={list.error} onRetry={list.refresh} />}

      {!list.data && list.loading ? (
        <Skeleton className="h-48" />
      ) : list.data && list.data.items.length > 0 ? (
        <>
          <HistoryTable jobs={list.data.items} onChanged={refresh} />
          <nav aria-label="Pages" className="flex flex-wrap items-center justify-between gap-3 text-sm">
            <div className="flex flex-wrap items-center gap-3">
              <span className="text-muted-foreground" data-testid="history-range">
                {from}–{to} of {total}
              </span>
              <Label htmlFor="history-limit" className="font-normal text-muted-foreground">
                Per page
              </Label>
              <NativeSelect
                id="history-limit"
                className="h-8 w-28"
                value={String(pageSize)}
                onChange={(e) =>
                  setParams({
                    limit: e.target.value === String(DEFAULT_PAGE_SIZE) ? "" : e.target.value,
                    page: "",
                  })
                }
              >
                {[...new Set([...PAGE_SIZES, pageSize])]
                  .sort((a, b) => a - b)
                  .map((n) => (
                    <option key={n} value={n}>
                      {n}
                    </option>
                  ))}
              </NativeSelect>
            </div>
            <div className="flex gap-2">
              <Button
                variant="outline"
                size="sm"
                disabled={page <= 1}
                onClick={() => setParams({ page: String(page - 1) })}
              >
                <ChevronLeft /> Previous
              </Button>
              <Button
                variant="outline"
                size="sm"
                disabled={page >= pages}
                onClick={() => setParams({ page: String(page + 1) })}
              >
                Next <ChevronRight />
              </Button>
            </div>
          </nav>
        </>
      ) : list.data ? (
        <p className="text-sm text-muted-foreground" data-testid="history-empty">
          {q || status ? (
            "No job matches these filters."
          ) : (
            <>
              No jobs yet.{" "}
              <Link href="/new/" className="underline underline-offset-4">
                Start one →
              </Link>
            </>
          )}
        </p>
      ) : null}
    </div>
  );
}

export default function HistoryPage() {
  return (
    <Suspense fallback={<Skeleton className="h-48" />}>
      <HistoryView />
    </Suspense>
  );
}
