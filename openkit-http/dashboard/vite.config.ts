// Built by openkit-http/build.rs (`npm run build -- --outDir $OUT_DIR/dashboard`).
// `base: './'`: every URL in the page is relative, so the same build works at `/` and
// behind a gateway prefix; the server serves hashed files from `assets/` with long caching.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    // `npm run dev` next to `openkit serve --allow-origin http://localhost:5173`: the
    // proxy presents the server's own Host, the browser's Origin is the allowed one.
    proxy: { '/api': { target: 'http://localhost:4040', ws: true, changeOrigin: true } },
  },
});
