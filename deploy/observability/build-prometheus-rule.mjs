#!/usr/bin/env node
// Writes prometheus-rule.yaml (a PrometheusRule for the Prometheus Operator) from the plain rule
// files, so the two never drift: recording-rules.yaml's groups, then alerts.yaml's groups.
//   node deploy/observability/build-prometheus-rule.mjs          rewrite prometheus-rule.yaml
//   node deploy/observability/build-prometheus-rule.mjs --check  exit 1 when it is out of date
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const SOURCES = ['recording-rules.yaml', 'alerts.yaml'];
const TARGET = join(here, 'prometheus-rule.yaml');

export function buildPrometheusRule() {
  const groups = SOURCES.flatMap((file) => parse(readFileSync(join(here, file), 'utf8')).groups);
  const rule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'coffeebuddy-runtime',
      labels: {
        'app.kubernetes.io/name': 'coffeebuddy-runtime',
        'app.kubernetes.io/part-of': 'coffeebuddy',
        // kube-prometheus-stack picks PrometheusRules by its release label; set yours.
        release: 'prometheus',
      },
    },
    spec: { groups },
  };
  const header = [
    '# Generated from recording-rules.yaml and alerts.yaml by build-prometheus-rule.mjs: edit those, then run',
    '#   node deploy/observability/build-prometheus-rule.mjs',
    '# No namespace here: apply it into the app\'s one, e.g. kubectl apply -f deploy/observability/prometheus-rule.yaml -n coffeebuddy',
  ];
  return `${header.join('\n')}\n${stringify(rule, { lineWidth: 0 })}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = buildPrometheusRule();
  if (process.argv.includes('--check')) {
    if (readFileSync(TARGET, 'utf8') !== text) {
      console.error('prometheus-rule.yaml is out of date: run node deploy/observability/build-prometheus-rule.mjs');
      process.exit(1);
    }
  } else {
    writeFileSync(TARGET, text);
  }
}
