import { describeAllowed, type FieldTable } from './field-table.js'
import { MQTT_FIELDS } from './mqtt-fields.js'

/**
 * The README's reference table, generated from a field table so that the two cannot drift:
 * name, type, default, required, sensitive, description (allowed values and aliases appended).
 */
export function renderMetadataTable(table: FieldTable = MQTT_FIELDS): string {
  const rows = [
    '| name | type | default | required | sensitive | description |',
    '|---|---|---|---|---|---|',
  ]
  for (const field of table) {
    let description = field.description
    if (field.allowed) description += ` Allowed: ${describeAllowed(field.allowed)}.`
    if (field.aliases && field.aliases.length > 0) description += ` Aliases: ${field.aliases.map((a) => `\`${a}\``).join(', ')}.`
    const cells = [
      `\`${field.name}\``,
      field.type,
      field.default === undefined ? '' : `\`${field.default === '' ? '""' : field.default}\``,
      field.required ? 'yes' : 'no',
      field.sensitive ? 'yes' : 'no',
      description,
    ]
    rows.push(`| ${cells.map(escapeCell).join(' | ')} |`)
  }
  return `${rows.join('\n')}\n`
}

function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ')
}
