"use client";

import { FlaskConical, History, LayoutDashboard, Plus, Server, WifiOff } from "lucide-react";
import Link from "next/link";
import { usePathname } from "next/navigation";

import { ModelStats } from "@/components/model-stats";
import { ThemeToggle } from "@/components/theme-toggle";
import { Badge } from "@/components/ui/badge";
import { Skeleton } from "@/components/ui/skeleton";
import { api } from "@/lib/api";
import { usePoll } from "@/lib/use-poll";
import { cn } from "@/lib/utils";

const NAV = [
  { href: "/", label: "Dashboard", icon: LayoutDashboard },
  { href: "/new/", label: "New Job", icon: Plus },
  { href: "/history/", label: "History", icon: History },
  { href: "/models/", label: "Models", icon: Server },
];

function isCurrent(pathname: string, href: string): boolean {
  if (href === "/") return pathname === "/" || pathname.startsWith("/jobs/");
  return pathname.startsWith(href.replace(/\/$/, ""));
}

export function SimulatedBadge() {
  return (
    <Badge
      variant="warning"
      className="gap-1"
      title="No API keys are set: every model call is answered by the built-in simulator; amounts are what the calls would cost at each model's list price"
      data-testid="simulated-badge"
    >
      <FlaskConical /> Simulated providers
    </Badge>
  );
}

export function AppSidebar() {
  const pathname = usePathname() ?? "/";
  const models = usePoll(() => api.models.list(), 15_000, []);
  const simulated = models.data?.some((m) => m.simulated) ?? false;

  const nav = (
    <nav aria-label="Main" className="flex gap-1 text-sm font-medium md:flex-col">
      {NAV.map(({ href, label, icon: Icon }) => (
        <Link
          key={href}
          href={href}
          aria-current={isCurrent(pathname, href) ? "page" : undefined}
          className={cn(
            "flex items-center gap-2 rounded-md px-2 py-1.5 text-muted-foreground transition-colors outline-none hover:bg-accent hover:text-foreground focus-visible:ring-[3px] focus-visible:ring-ring",
            "aria-[current=page]:bg-accent aria-[current=page]:text-foreground",
          )}
        >
          <Icon className="size-4" aria-hidden /> <span className="max-sm:sr-only">{label}</span>
        </Link>
      ))}
    </nav>
  );

  return (
    // The wrapper paints the sidebar down the whole page; the aside itself stays in view.
    <div className="shrink-0 border-b bg-sidebar md:w-60 md:border-r md:border-b-0">
      <aside className="flex flex-col gap-4 p-3 md:sticky md:top-0 md:h-screen md:overflow-y-auto md:p-4">
        <div className="flex items-center justify-between gap-2">
          <Link href="/" className="text-sm font-bold tracking-tight">
            Orchestrator
          </Link>
          <div className="md:hidden">{nav}</div>
        </div>
        <div className="hidden md:block">{nav}</div>
        {/* A job page says it for its own job, in its header: once is enough. */}
        {simulated && !pathname.startsWith("/jobs/") && (
          <div>
            <SimulatedBadge />
          </div>
        )}
        <hr className="hidden md:block" />
        <section aria-labelledby="sidebar-models-title" className="hidden md:block">
          <h2
            id="sidebar-models-title"
            className="mb-2 text-xs tracking-wide text-muted-foreground uppercase"
          >
            Models
          </h2>
          {models.data ? (
            <ModelStats models={models.data} />
          ) : models.error ? (
            <p className="flex items-center gap-1.5 text-xs text-destructive-ink">
              <WifiOff className="size-3.5" />{" "}
              {models.error.unreachable ? "API unreachable" : models.error.message}
            </p>
          ) : (
            <div className="space-y-2">
              {[0, 1, 2, 3].map((i) => (
                <Skeleton key={i} className="h-7" />
              ))}
            </div>
          )}
        </section>
        <div className="mt-auto hidden md:block">
          <ThemeToggle />
        </div>
      </aside>
    </div>
  );
}
