/** POSTs one operation to a running server and returns its `data`; anything but a 200 is an error. */
export async function callOperation(baseUrl: string, operation: string, body: unknown, rootKey: string): Promise<any> {
  const res = await fetch(`${baseUrl}/v2/${operation}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${rootKey}` },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as any;
  if (res.status !== 200) throw new Error(`${operation} answered ${res.status}: ${JSON.stringify(json)}`);
  return json.data;
}
