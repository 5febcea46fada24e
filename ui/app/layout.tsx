import { GeistMono } from "geist/font/mono";
import { GeistSans } from "geist/font/sans";
import type { Metadata } from "next";
import type * as React from "react";

import { AppSidebar } from "@/components/app-sidebar";
import { LoginGate } from "@/components/login-gate";
import { themeScript } from "@/lib/theme";

import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Orchestrator", template: "%s · Orchestrator" },
  description: "Multi-LLM Orchestrator dashboard",
};

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en" suppressHydrationWarning className={`${GeistSans.variable} ${GeistMono.variable}`}>
      <head>
        <script dangerouslySetInnerHTML={{ __html: themeScript }} />
      </head>
      <body className="flex min-h-screen flex-col font-sans md:flex-row">
        <a
          href="#main"
          className="sr-only z-50 rounded-md bg-background px-3 py-2 text-sm font-medium focus:not-sr-only focus:fixed focus:top-2 focus:left-2 focus:ring-[3px] focus:ring-ring focus:outline-none"
        >
          Skip to content
        </a>
        <AppSidebar />
        <main id="main" tabIndex={-1} className="min-w-0 flex-1 p-4 outline-none md:p-6">
          {children}
        </main>
        <LoginGate />
      </body>
    </html>
  );
}
