// Validates Kubernetes objects (a JSON array on stdin) with kubernetes-models, and KEDA's custom
// resources with @kubernetes-models/keda (models generated from KEDA's CRD schemas).
// A separate Node process because the packages ship ES modules only, which Jest's CommonJS runtime cannot load.
// Prints one result per object: the model used (null when none exists, as for other custom resources) and its errors.
import { readFileSync } from 'node:fs';

/** The model package of an API group other than the built-in ones. */
const PACKAGES = { 'keda.sh': '@kubernetes-models/keda' };

const objects = JSON.parse(readFileSync(0, 'utf8'));
const results = [];
for (const object of objects) {
  const { apiVersion, kind } = object;
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  const specifier = `${PACKAGES[group] ?? 'kubernetes-models'}/${apiVersion}/${kind}`;
  const result = { apiVersion, kind, name: object.metadata?.name, model: null, errors: [] };
  let Model;
  try {
    Model = (await import(specifier))[kind];
  } catch (error) {
    if (error.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED' && error.code !== 'ERR_MODULE_NOT_FOUND') throw error;
  }
  if (Model) {
    result.model = specifier;
    try {
      new Model(object).validate();
    } catch (error) {
      result.errors = error.errors?.map((e) => `${e.instancePath} ${e.message ?? e.keyword}`) ?? [String(error)];
    }
  }
  results.push(result);
}
process.stdout.write(JSON.stringify(results));
