// FileMobility pattern from code: a SingleFileTransferAgent carries one file to another host
// and saves it there atomically (the CLI `taglets examples file push|pull` does the same).
//
// Run with two hosts on this machine (`npm start` and `npm start -- --name beta --port 8766`):
//   node examples/patterns/file-transfer.ts SRC_FILE DEST_PATH [FROM_URL] [TO_URL] [copy|move]
// e.g. node examples/patterns/file-transfer.ts ./README.md /tmp/inbox/
// The same with the CLI:
//   ./taglets examples file push ./README.md --remote http://127.0.0.1:8766 --dest /tmp/inbox/
//   ./taglets examples file pull /tmp/inbox/README.md --remote http://127.0.0.1:8766 --dest ./copy.md --dry
import { resolve } from 'node:path';
import { HostClient } from 'taglets/client';
import {
  FILE_TRANSFER_AGENT_CLASS,
  TaskClient,
  fileTransferRequest,
  type FileTransferRequest,
  type FileTransferResult,
} from 'taglets/patterns';

async function main(): Promise<void> {
  const [src, dest = '', from = 'http://127.0.0.1:8765', to = 'http://127.0.0.1:8766', mode = 'copy'] = process.argv.slice(2);
  if (!src) throw new Error('usage: node examples/patterns/file-transfer.ts SRC_FILE DEST_PATH [FROM_URL] [TO_URL] [copy|move]');
  const task = await TaskClient.create<FileTransferRequest, FileTransferResult>(new HostClient(from), FILE_TRANSFER_AGENT_CLASS);
  try {
    const request = fileTransferRequest({
      source_path: resolve(src),
      destination_path: dest,
      target_host: to,
      mode: mode === 'move' ? 'move' : 'copy',
    });
    const done = await task.startAndWait(request, { onStatus: (s) => console.log(`  ${s.status} on ${s.host_name}`) });
    if (done.status !== 'COMPLETED' || !done.result) throw new Error(done.error ?? done.status);
    const r = done.result;
    console.log(`${r.mode === 'move' ? 'moved' : 'copied'} ${r.size_human} from ${r.source.label} to ${r.destination.label}`);
  } finally {
    await task.dispose();
  }
}

if (import.meta.main) await main();
