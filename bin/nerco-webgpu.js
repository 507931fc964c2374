#!/usr/bin/env node
// The package's command: runs the compiled CLI (npm run build first when working in the repo).
process.env.XDG_RUNTIME_DIR ??= '/tmp'; // silences a Mesa warning on headless machines
const { main } = await import('../dist/node/src/cli/main.js').catch((e) => {
  console.error(`nerco-webgpu: the build is missing (${e.code ?? e.message}); run \`npm run build\``);
  process.exit(1);
});
// Exit explicitly: Dawn's GPU object stays referenced for the life of the process.
process.exit(await main(process.argv.slice(2)));
