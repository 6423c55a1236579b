// Drives simgate's /3rdparty/v1 with the published npm client of SMS Gateway
// for Android ("android-sms-gateway", v3), as an application would; run by
// TestE2E_SMSGateClient, which copied the client's dist/index.js beside this
// file as client.mjs. It prints one JSON line of what it saw, waits for a
// line on stdin (the test has checked the webhooks), deletes its webhooks
// and prints a second line.
import Client from './client.mjs';
import { createInterface } from 'node:readline';

const env = process.env;
const numbers = JSON.parse(env.SMSGATE_NUMBERS);

async function call(method, url, body, headers) {
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) {
    const err = new Error(method + ' ' + url + ': ' + res.status + ' ' + text);
    err.status = res.status;
    err.body = text;
    throw err;
  }
  return text ? JSON.parse(text) : undefined;
}

const http = {
  get: (url, headers) => call('GET', url, undefined, headers),
  post: (url, body, headers) => call('POST', url, body, headers),
  put: (url, body, headers) => call('PUT', url, body, headers),
  patch: (url, body, headers) => call('PATCH', url, body, headers),
  delete: (url, headers) => call('DELETE', url, undefined, headers),
};

const client = new Client(env.SMSGATE_USER, env.SMSGATE_KEY, http, env.SMSGATE_URL);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function settle(id) {
  const deadline = Date.now() + 120000; // generous: CI machines are loaded
  for (;;) {
    const st = await client.getState(id);
    if (st.state === 'Delivered' || st.state === 'Failed' || Date.now() > deadline) return st;
    await sleep(50);
  }
}

const out = { health: await client.getHealth(), devices: await client.getDevices(), hooks: {} };
for (const event of ['sms:received', 'sms:data-received', 'sms:sent', 'sms:delivered']) {
  out.hooks[event] = await client.registerWebhook({ url: env.SMSGATE_RECEIVER, event });
}
out.listed = await client.getWebhooks();
const one = await client.send({ message: 'hello from the npm client', phoneNumbers: [numbers[1]] });
const two = await client.send({ message: 'hello to two', phoneNumbers: [numbers[0], numbers[1]], withDeliveryReport: true });
// The v3 client's types know only "message"; it sends the body as given,
// and SMSGate's server takes dataMessage the same way.
const data = await client.send({ dataMessage: { data: Buffer.from([0, 1, 2, 255]).toString('base64'), port: 53739 }, phoneNumbers: [numbers[1]] });
out.sent = [one, two, data];
out.final = [await settle(one.id), await settle(two.id), await settle(data.id)];
try {
  await client.send({ message: 'bad', phoneNumbers: [numbers[0], 'not a number'] });
  out.badInput = 'accepted';
} catch (e) {
  out.badInput = { status: e.status, body: JSON.parse(e.body) };
}
console.log(JSON.stringify(out));

const lines = createInterface({ input: process.stdin });
for await (const _ of lines) break;
for (const hook of Object.values(out.hooks)) await client.deleteWebhook(hook.id);
console.log(JSON.stringify({ afterDelete: await client.getWebhooks() }));
process.exit(0);
