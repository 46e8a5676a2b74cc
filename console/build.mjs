// Builds the console into dist/: one script, one stylesheet, the page. The hearth
// binary embeds dist/ (server/src/console.rs), so serving it needs no node.
import { build } from "esbuild";
import { copyFile, mkdir, rm } from "node:fs/promises";

await rm("dist", { recursive: true, force: true });
await mkdir("dist");
await build({
  entryPoints: [
    { in: "src/main.tsx", out: "app" },
    { in: "src/style.css", out: "app" },
  ],
  outdir: "dist",
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "none",
  logLevel: "warning",
});
await copyFile("index.html", "dist/index.html");
console.log("console built into console/dist");
