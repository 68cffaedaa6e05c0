// The procedo extension: starts `procedo lsp` (stdio) for `.proc` files. Everything
// else, diagnostics to rename, comes from the language server.
const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration('procedo').get('path') || 'procedo';
  const server = { command, args: ['lsp'], transport: TransportKind.stdio };
  client = new LanguageClient(
    'procedo',
    'procedo',
    { run: server, debug: server },
    {
      documentSelector: [{ scheme: 'file', language: 'procedo' }],
      synchronize: {
        fileEvents: vscode.workspace.createFileSystemWatcher('**/{*.proc,procedo.yaml,*.test.yaml}'),
      },
    },
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
