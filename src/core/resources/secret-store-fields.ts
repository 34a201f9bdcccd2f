import type { FieldTable } from './field-table.js'

/** `secretstores.local.env`, after components-contrib `secretstores/local/env/metadata.yaml`. */
export const ENV_STORE_FIELDS: FieldTable = [
  {
    name: 'prefix',
    type: 'string',
    default: '',
    required: false,
    sensitive: false,
    group: 'dapr',
    description:
      'Prepended to the secret name to form the variable name (case-sensitive, as on Linux). ' +
      '`DAPR_*` and `APP_API_TOKEN` can never be read.',
    example: 'MYAPP_',
  },
]

/** `secretstores.local.file`, after components-contrib `secretstores/local/file/metadata.yaml`. */
export const FILE_STORE_FIELDS: FieldTable = [
  {
    name: 'secretsFile',
    type: 'string',
    required: true,
    sensitive: false,
    group: 'dapr',
    description:
      'JSON file holding the secrets. A relative path is resolved against the folder of the YAML file ' +
      'that declares the store (daprd resolves it against its working directory).',
    example: 'secrets.json',
  },
  {
    name: 'nestedSeparator',
    type: 'string',
    default: ':',
    required: false,
    sensitive: false,
    group: 'dapr',
    description: 'Joins the keys of nested objects (and array indexes) into one secret name: `{"a":{"b":"x"}}` gives `a:b`.',
    example: ':',
  },
  {
    name: 'multiValued',
    type: 'bool',
    default: 'false',
    required: false,
    sensitive: false,
    group: 'dapr',
    description:
      'When true, each top-level key is one secret and the (flattened) keys of its object are that secret\'s keys.',
    example: 'false',
  },
]
