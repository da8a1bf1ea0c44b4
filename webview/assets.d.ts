// esbuild collects imported CSS into dist/webview/panel.css; the import has no value.
declare module '*.css';
