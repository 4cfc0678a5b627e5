// Which request field an ApiError is about: `details.field`, else the first of a validation
// error's `details.problems` (e.g. "search", "operations.0.trim.end_s"). Pages use it to show
// the API's message next to the control that caused it.

export function fieldOf(err) {
  if (!err) return "";
  if (err.field) return String(err.field);
  const problems = (err.details && err.details.problems) || [];
  return problems.length ? String(problems[0].field || "") : "";
}
