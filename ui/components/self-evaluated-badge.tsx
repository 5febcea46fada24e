import { Badge } from "@/components/ui/badge";

const WHY =
  "No model of another provider could review it: the critique and the scores came from the " +
  "generator's own provider or model.";

/** Marks a score that the generator's own provider (or the model itself) gave. */
export function SelfEvaluatedBadge() {
  return (
    <Badge variant="warning" title={WHY} data-testid="self-evaluated">
      self-evaluated
      <span className="sr-only"> ({WHY})</span>
    </Badge>
  );
}
