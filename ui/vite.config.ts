import { defineConfig } from "vite";

// The desktop shell loads the built files from ui/dist; nothing is fetched at run time.
export default defineConfig({
  clearScreen: false,
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "safari15",
    sourcemap: false,
  },
});
