// npm's own `semver` package answering satisfies(version, range) for
// oracle-scan.py. argv[2]: the directory of the semver package.
// stdin: {"checks": [["4.17.4", "<4.17.5"], ...]}
// stdout: a JSON array with "true", "false" or "invalid: <why>" per check.
'use strict';
const semver = require(process.argv[2]);
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  const { checks } = JSON.parse(input);
  const out = checks.map(([version, range]) => {
    if (semver.valid(version) === null) return `invalid: version ${JSON.stringify(version)} is not valid to semver`;
    if (semver.validRange(range) === null) return `invalid: range ${JSON.stringify(range)} is not valid to semver`;
    return semver.satisfies(version, range) ? 'true' : 'false';
  });
  process.stdout.write(JSON.stringify(out));
});
