"use client";

import { usePathname } from "next/navigation";
import { useEffect, useState } from "react";

import { JobView } from "@/components/job-view";
import { Skeleton } from "@/components/ui/skeleton";

/** `/jobs/<id>/` → `<id>`; read from the address bar, since one exported page serves all ids. */
export function jobIdFromPath(pathname: string): string | null {
  const match = /^\/jobs\/([^/]+)\/?$/.exec(pathname);
  return match?.[1] ? decodeURIComponent(match[1]) : null;
}

export function JobPage() {
  const pathname = usePathname();
  const [jobId, setJobId] = useState<string | null>(null);

  // After mount only: the pre-rendered HTML was built for the placeholder id.
  useEffect(() => {
    setJobId(jobIdFromPath(window.location.pathname));
  }, [pathname]);

  if (!jobId) {
    return <Skeleton className="h-10 w-2/3" />;
  }
  return <JobView key={jobId} jobId={jobId} />;
}
