// One colour per provider, shared by every chart (colour-blind-friendly where possible).
const COLORS: Record<string, string> = {
  anthropic: "#d97706",
  openai: "#10b981",
  google: "#3b82f6",
  moonshot: "#8b5cf6",
  kimi: "#8b5cf6",
  deepseek: "#ef4444",
  openrouter: "#ec4899",
  ollama: "#64748b",
  simulator: "#0ea5e9",
};

const FALLBACK = ["#14b8a6", "#f59e0b", "#6366f1", "#84cc16", "#f43f5e", "#06b6d4"];

export function providerColor(provider: string): string {
  const known = COLORS[provider.toLowerCase()];
  if (known) return known;
  let hash = 0;
  for (const ch of provider) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return FALLBACK[hash % FALLBACK.length] ?? "#6b7280";
}

const LABELS: Record<string, string> = {
  anthropic: "Anthropic",
  openai: "OpenAI",
  google: "Google",
  moonshot: "Moonshot",
  deepseek: "DeepSeek",
  openrouter: "OpenRouter",
  openai_compat: "OpenAI-compatible",
  ollama: "Ollama",
  simulator: "Simulator",
};

export function providerLabel(provider: string): string {
  return LABELS[provider.toLowerCase()] ?? provider;
}
