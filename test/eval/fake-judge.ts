// A tiny OpenAI-compatible chat completions server on 127.0.0.1 (node:http) standing in for an LLM judge:
// it records each request and answers with a verdict computed by the given function.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface JudgeRequest {
  path: string;
  authorization: string | undefined;
  body: { model: string; messages: { role: string; content: string }[]; temperature?: number };
}

export interface FakeJudge {
  url: string;
  requests: JudgeRequest[];
  close(): Promise<void>;
}

/** `reply` gets the user message the judge received and returns the assistant's content (or an HTTP error). */
export async function startFakeJudge(reply: (user: string) => string | { status: number; body: string }): Promise<FakeJudge> {
  const requests: JudgeRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as JudgeRequest['body'];
      requests.push({ path: req.url ?? '', authorization: req.headers.authorization, body });
      const out = reply(body.messages.find((m) => m.role === 'user')?.content ?? '');
      if (typeof out !== 'string') {
        res.writeHead(out.status, { 'content-type': 'application/json' }).end(out.body);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
        id: 'chatcmpl-test', object: 'chat.completion', created: 0, model: body.model,
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: out } }],
      }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
