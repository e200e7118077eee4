#!/usr/bin/env node
/** The `taglets` command. */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.ts';
import { registerAgentsCommand } from './agents-command.ts';
import { registerArtifactsCommand } from './artifacts-command.ts';
import { registerExamplesCommand } from './examples-command.ts';
import { registerHostCommand } from './host-command.ts';
import { registerJobsCommand } from './jobs-command.ts';
import { registerMeshCommand } from './mesh-command.ts';
import { registerSysCommand } from './sys-command.ts';
import { EXIT_ERROR, reportError, setColor } from './output.ts';

const program = new Command('taglets')
  .version(VERSION)
  .description('taglets: mobile agents and compute jobs across a mesh of hosts')
  .option('--entry <name|url>', 'host to talk to (URL, HOST:PORT or host name)', process.env.TAGLETS_ENTRY)
  .option('--json', 'print JSON for scripts')
  .option('--timeout <seconds>', 'how long to wait for a host')
  .option('--api-key-env <NAME>', 'environment variable holding the bearer key (default TAGLETS_API_KEY)')
  .option('--no-color', 'plain output without colours')
  .showSuggestionAfterError()
  .exitOverride()
  .addHelpText(
    'after',
    `
Examples:
  $ taglets host --name alpha --port 8765
  $ taglets agents create ./agents/counter.js#Counter
  $ taglets agents ls --json
  $ taglets mesh summary
  $ taglets sys load
  $ taglets jobs status
  $ taglets examples file push ./a.txt --remote beta --dest /tmp/

Exit codes: 0 ok, 1 empty or partial result, 2 error.`,
  );

program.hook('preAction', (cmd) => {
  if (cmd.optsWithGlobals<{ color?: boolean }>().color === false) setColor(false);
});

registerHostCommand(program);
registerAgentsCommand(program);
registerArtifactsCommand(program);
registerMeshCommand(program);
registerExamplesCommand(program);
registerSysCommand(program);
registerJobsCommand(program);

const argv = process.argv;
const wantsJson = argv.includes('--json');
try {
  await program.parseAsync(argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version end with code 0; usage errors with 2 (commander already printed them).
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_ERROR;
  } else {
    process.exitCode = reportError(err, wantsJson);
  }
}
