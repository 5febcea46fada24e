export type Theme = "system" | "light" | "dark";

export const THEME_KEY = "orchestrator.theme";

/** Runs before paint (inlined in <head>) so a dark page never flashes white. */
export const themeScript = `(function(){try{var t=localStorage.getItem('${THEME_KEY}');var d=t==='dark'||(t!=='light'&&matchMedia('(prefers-color-scheme: dark)').matches);document.documentElement.classList.toggle('dark',d)}catch(e){}})()`;
