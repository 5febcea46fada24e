import type { NextConfig } from "next";

// The production build is a static export that the FastAPI app serves on the API's own port.
// `next dev` runs without `output: "export"` so /jobs/<any id>/ renders on demand there too.
const isBuild = process.env.NODE_ENV === "production";

const nextConfig: NextConfig = {
  output: isBuild ? "export" : undefined,
  trailingSlash: true,
  images: { unoptimized: true },
  reactStrictMode: true,
  poweredByHeader: false,
};

export default nextConfig;
