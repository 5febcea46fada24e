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
        <AppSidebar />
        <main id="main" className="min-w-0 flex-1 p-4 md:p-6">
          {children}
        </main>
        <LoginGate />
      </body>
    </html>
  );
}
