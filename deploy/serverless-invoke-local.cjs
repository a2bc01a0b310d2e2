/**
 * A Serverless plugin for `osls invoke local`: the functions' environment names CloudFormation
 * resources (the queue URL, the table name) that exist only once deployed, and `invoke local`
 * would look them up in a deployed stack. Instead, on `invoke local` every variable set in the
 * shell wins over serverless.yml's value, and a CloudFormation reference with no shell value is
 * left out, so the handler says which variable it is missing. `npm run stack` prints the
 * variables of a local stack to copy into the shell.
 */
'use strict';
const { resolve } = require('node:path');

/** Variables holding file paths: a relative one is taken from where the command runs (the bundle runs elsewhere). */
const PATHS = new Set(['SVA_CONFIG', 'KUBECONFIG']);

class InvokeLocalEnvironment {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      initialize: () => {
        const [command, subcommand] = serverless.processedInput.commands;
        if (command === 'invoke' && subcommand === 'local') this.useShellEnvironment();
      },
    };
  }

  useShellEnvironment() {
    const service = this.serverless.service;
    const environments = [
      service.provider.environment,
      ...Object.values(service.functions ?? {}).map((f) => f.environment),
    ];
    for (const env of environments.filter(Boolean)) {
      for (const [name, value] of Object.entries(env)) {
        const shell = process.env[name];
        if (shell) env[name] = PATHS.has(name) ? resolve(shell) : shell;
        else if (value !== null && typeof value === 'object') delete env[name];
      }
    }
  }
}

module.exports = InvokeLocalEnvironment;
