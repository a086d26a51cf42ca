// Error messages that quote client input (graphql-js: `Variable "$e" got invalid value "…"`; the
// graphql-scalars scalars: `Value is not a valid email address: …`) would echo up to the whole
// request body back (900 KB in the probe). Each quoted value, and a scalar's trailing value, is cut
// to `max` characters with an ellipsis. Linear in the message length.
export function truncateEchoes(message: string, max: number): string {
  if (message.length <= max) return message;
  const quoted = message.replace(/"((?:[^"\\]|\\.)*)"/g, (whole, inner: string) => (inner.length > max ? `"${inner.slice(0, max)}…"` : whole));
  const colon = quoted.lastIndexOf(': ');
  if (colon < 0) return quoted;
  const tail = quoted.slice(colon + 2);
  return tail.length > max && !tail.includes('"') ? `${quoted.slice(0, colon + 2)}${tail.slice(0, max)}…` : quoted;
}
