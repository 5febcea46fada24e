import { JobPage } from "@/components/job-page";

// The static export holds one placeholder page; the server answers every /jobs/<id>/ with it
// and the client reads the id from the address bar (see orchestrator/api/ui.py).
export function generateStaticParams() {
  return [{ id: "_" }];
}

export default function Page() {
  return <JobPage />;
}
