import { describe, expect, it } from 'vitest';
import { compileKeyLayout, KeyLayoutError } from '../../src/key-layout/index.js';
import { MessageValidationError } from '../../src/payload/index.js';
import { issuesOf, layoutError, md5, message, sha256 } from './messages.js';

describe('placeholders', () => {
  it('fill message fields of every channel, numbers written with String()', () => {
    expect(compileKeyLayout('{project_id}/{campaign_id}/{provider}/{message_id}').render(message('sms'))).toBe('shop/1722529032/twilio/9f8c76ccdaf0895515f813af702670324d996296788652b50b3475d6fe6e719a');
    expect(compileKeyLayout('{platform}/{canvas_step_id}/{version}/{message_id}').render(message('push', { message_id: 'p1' }))).toBe('ios/step-push-3/1/p1');
    expect(compileKeyLayout('{template_name}/{message_id}').render(message('whatsapp', { template_name: 'order_update', message_id: 'w1' }))).toBe('order_update/w1');
    expect(compileKeyLayout('{user_id}/{journey_id}/{message_id}').render(message('sms', { user_id: 0, journey_id: -2.5, message_id: 's1' }))).toBe('0/-2.5/s1');
  });

  it('fill {extras.NAME} from a top-level string or number in extras', () => {
    const layout = compileKeyLayout('{extras.tenant}/{extras.shard}/{message_id}');
    expect(layout.render(message('push', { extras: { tenant: 'eu west', shard: 7 }, message_id: 'p1' }))).toBe('eu%20west/7/p1');
  });

  it('fill {channel} and {Channel} as the vendors write them', () => {
    const layout = compileKeyLayout('{channel}/{Channel}/{message_id}');
    expect(layout.render(message('email', { message_id: 'm' }))).toBe('email/Email/m');
    expect(layout.render(message('sms', { message_id: 'm' }))).toBe('sms/Sms/m');
    expect(layout.render(message('push', { message_id: 'm' }))).toBe('push/Push/m');
    expect(layout.render(message('whatsapp', { message_id: 'm' }))).toBe('whatsapp/WhatsApp/m');
  });

  it('hash the normalized recipient, and show it in clear only through {recipient}', () => {
    const layout = compileKeyLayout('{md5(recipient)}/{sha256(recipient)}/{recipient}/{message_id}');
    expect(layout.render(message('email', { message_id: 'm' }))).toBe(`${md5('ana.garcia@example.com')}/${sha256('ana.garcia@example.com')}/ana.garcia%40example.com/m`);
    expect(layout.render(message('whatsapp', { message_id: 'm' }))).toBe(`${md5('+15555555555')}/${sha256('+15555555555')}/%2B15555555555/m`);
    expect(layout.render(message('push', { message_id: 'm' }))).toBe(`${md5('frfsgvrwe:APfdsafsgdf/+Sgghfgfg==')}/${sha256('frfsgvrwe:APfdsafsgdf/+Sgghfgfg==')}/frfsgvrwe%3AAPfdsafsgdf%2F%2BSgghfgfg%3D%3D/m`);
  });

  it('mix literal text and placeholders inside one segment', () => {
    expect(compileKeyLayout('archive-v1/p={project_id}/{yyyy}-{mm}/{message_id}.json.gz').render(message('sms', { message_id: 's1' }))).toBe('archive-v1/p=shop/2024-09/s1.json.gz');
  });
});

describe('date parts are UTC parts of sent_at', () => {
  const layout = compileKeyLayout('{yyyy}/{mm}/{dd}/{hh}/{yyyymm}/{yyyymmdd}/{message_id}');
  const at = (iso: string) => layout.render(message('sms', { sent_at: Date.parse(iso), message_id: 'm' }));

  it('at the end of a year and the start of the next', () => {
    expect(at('2024-12-31T23:59:59.999Z')).toBe('2024/12/31/23/202412/20241231/m');
    expect(at('2025-01-01T00:00:00.000Z')).toBe('2025/01/01/00/202501/20250101/m');
  });

  it('at month boundaries, a leap day included', () => {
    expect(at('2024-09-30T23:30:00.000Z')).toBe('2024/09/30/23/202409/20240930/m');
    expect(at('2024-10-01T00:00:00.000Z')).toBe('2024/10/01/00/202410/20241001/m');
    expect(at('2024-02-29T12:00:00.000Z')).toBe('2024/02/29/12/202402/20240229/m');
    expect(at('2024-03-01T00:00:00.000Z')).toBe('2024/03/01/00/202403/20240301/m');
  });

  it('at the extremes sent_at may take', () => {
    expect(at('1973-03-03T09:46:40.000Z')).toBe('1973/03/03/09/197303/19730303/m');
    expect(at('9999-12-31T23:59:59.999Z')).toBe('9999/12/31/23/999912/99991231/m');
  });
});

describe('fallbacks', () => {
  const layout = compileKeyLayout('{campaign_id|canvas_step_id|unassociated}/{message_id}');

  it('take the first alternative that has a value, then the literal', () => {
    expect(layout.render(message('push', { message_id: 'm' }))).toBe('spring-sale/m');
    expect(layout.render(message('push', { message_id: 'm', campaign_id: undefined }))).toBe('step-push-3/m');
    expect(layout.render(message('push', { message_id: 'm', campaign_id: undefined, canvas_step_id: undefined }))).toBe('unassociated/m');
  });

  it('count a number, 0 included, as a value', () => {
    expect(layout.render(message('push', { message_id: 'm', campaign_id: 1722529032 }))).toBe('1722529032/m');
    expect(compileKeyLayout('{user_id|none}/{message_id}').render(message('push', { message_id: 'm', user_id: 0 }))).toBe('0/m');
  });

  it('treat empty strings, objects, lists, booleans and null as no value', () => {
    const extrasLayout = compileKeyLayout('{extras.a|extras.b|extras.c|extras.d|extras.e|extras.f|campaign_name|none}/{message_id}');
    expect(extrasLayout.render(message('push', { message_id: 'm', campaign_name: '', extras: { a: '', b: { x: 1 }, c: [1], d: true, e: null } }))).toBe('none/m');
    expect(extrasLayout.render(message('push', { message_id: 'm', extras: { a: '', f: 'found' } }))).toBe('found/m');
  });

  it('never read inherited properties', () => {
    const inherited = compileKeyLayout('{extras.constructor|extras.__proto__|extras.toString|none}/{message_id}');
    expect(inherited.render(message('push', { message_id: 'm', extras: {} }))).toBe('none/m');
  });

  it('use a known name as a placeholder even in last place', () => {
    expect(compileKeyLayout('{campaign_id|user_id}/{message_id}').render(message('push', { message_id: 'm', campaign_id: undefined, user_id: 'u1' }))).toBe('u1/m');
  });
});

describe('a placeholder without a value and without a literal fallback', () => {
  it('refuses the message with an issue whose path is the field', () => {
    expect(issuesOf(() => compileKeyLayout('{journey_id}/{message_id}').render(message('push')))).toEqual([{ path: 'journey_id', problem: 'is required by the key layout (placeholder {journey_id})' }]);
    expect(issuesOf(() => compileKeyLayout('{journey_id|user_id}/{message_id}').render(message('push')))).toEqual([
      { path: 'journey_id', problem: 'is required by the key layout: none of journey_id, user_id has a value (placeholder {journey_id|user_id})' },
    ]);
    expect(issuesOf(() => compileKeyLayout('{extras.tenant}/{message_id}').render(message('push', { extras: { tenant: { id: 1 } } })))).toEqual([
      { path: 'extras.tenant', problem: 'is required by the key layout (placeholder {extras.tenant})' },
    ]);
  });

  it('throws a MessageValidationError that names no value', () => {
    let thrown: unknown;
    try {
      compileKeyLayout('{campaign_name}/{message_id}').render(message('push', { campaign_name: '' }));
    } catch (error) {
      thrown = error;
    }
    expect(MessageValidationError.isInstance(thrown)).toBe(true);
    expect((thrown as Error).message).toBe('Invalid message: campaign_name: is required by the key layout (placeholder {campaign_name})');
  });
});

describe('a key longer than the limit', () => {
  it('is refused, naming the field that takes most of it and not its value', () => {
    const layout = compileKeyLayout('{campaign_id}/{journey_id}/{user_id}/{canvas_id}/{canvas_step_id}/{journey_node_id}/{message_id}');
    const long = 'x'.repeat(190);
    const issues = issuesOf(() => layout.render(message('push', { campaign_id: long, journey_id: long, user_id: 'y'.repeat(5000), canvas_id: long, canvas_step_id: long, journey_node_id: long, message_id: 'm' })));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('user_id');
    expect(issues[0]!.problem).toMatch(/more than the 1024-byte limit \(it fills \{user_id\}/);
    expect(JSON.stringify(issues)).not.toMatch(/xxx|yyy/);
  });

  it('is accepted up to the limit', () => {
    const layout = compileKeyLayout(`${'a'.repeat(1024 - 1 - 'm'.length)}/{message_id}`);
    expect(layout.render(message('push', { message_id: 'm' }))).toHaveLength(1024);
    expect(issuesOf(() => layout.render(message('push', { message_id: 'mm' })))[0]!.path).toBe('message_id');
  });
});

describe('compileKeyLayout', () => {
  it('returns a frozen layout that keeps its template', () => {
    const layout = compileKeyLayout('{channel}/{message_id}');
    expect(layout.template).toBe('{channel}/{message_id}');
    expect(Object.isFrozen(layout)).toBe(true);
    expect(Object.isFrozen(layout.placeholders)).toBe(true);
  });

  const refused: [name: string, template: string, problem: RegExp, position?: number][] = [
    ['an empty template', '', /the template is empty/],
    ['a leading "/"', '/a/{message_id}', /must not start with "\/"/, 0],
    ['a trailing "/"', 'a/{message_id}/', /must not end with "\/"/, 14],
    ['an empty segment', 'a//{message_id}', /empty segment \("\/\/"\)/, 2],
    ['a "." segment', './{message_id}', /a "\." segment/, 0],
    ['a ".." segment', 'a/../{message_id}', /a "\.\." segment/, 2],
    ['an unclosed "{"', 'a/{message_id', /a "\{" is never closed/, 2],
    ['an unopened "}"', 'a}/{message_id}', /a "\}" has no matching "\{"/, 1],
    ['a "}" before a "{"', '}{message_id}', /no matching "\{"/, 0],
    ['nested braces', 'a/{{message_id}}', /cannot be nested/, 3],
    ['nested placeholder in a fallback', '{campaign_id|{user_id}}/{message_id}', /cannot be nested/, 13],
    ['a placeholder split by "/"', '{campaign_id|a/b}/{message_id}', /never closed/, 0],
    ['an empty placeholder', 'a/{}/{message_id}', /a placeholder is empty \("\{\}"\)/, 2],
    ['an empty alternative', '{campaign_id||x}/{message_id}', /empty alternative/, 0],
    ['a leading empty alternative', '{|campaign_id}/{message_id}', /empty alternative/, 0],
    ['an unknown name', '{campaign}/{message_id}', /unknown placeholder "campaign"/, 0],
    ['a misspelled name before a literal', 'x/{camapign_id|unassociated}/{message_id}', /unknown placeholder "camapign_id"/, 2],
    ['a literal in first place', '{unassociated|campaign_id}/{message_id}', /unknown placeholder "unassociated"/, 0],
    ['a placeholder that is only a literal', '{unassociated}/{message_id}', /unknown placeholder "unassociated"/, 0],
    ['wrong case', '{CHANNEL}/{message_id}', /unknown placeholder "CHANNEL"/, 0],
    ['white space in a placeholder', '{ campaign_id }/{message_id}', /unknown placeholder " campaign_id "/, 0],
    ['an unsafe literal fallback', '{campaign_id|a b}/{message_id}', /the fallback "a b"/, 0],
    ['a "." literal fallback', '{campaign_id|.}/{message_id}', /the fallback "\."/, 0],
    ['a ".." literal fallback', '{campaign_id|..}/{message_id}', /the fallback "\.\."/, 0],
    ['a percent in a literal fallback', '{campaign_id|%2E}/{message_id}', /the fallback "%2E"/, 0],
    ['the raw recipient', '{to}/{message_id}', /"to" would put the recipient in the key as typed/, 0],
    ['a field holding an object', '{payload}/{message_id}', /"payload" holds a list or an object/, 0],
    ['a field holding a list', '{cc}/{message_id}', /"cc" holds a list or an object/, 0],
    ['extras itself', '{extras}/{message_id}', /"extras" holds a list or an object/, 0],
    ['a nested extras name', '{extras.a.b}/{message_id}', /NAME of extras\.NAME/, 0],
    ['an empty extras name', '{extras.}/{message_id}', /NAME of extras\.NAME/, 0],
    ['a backslash', 'a\\b/{message_id}', /control characters or a backslash/, 1],
    ['a NUL', 'a/b\u0000/{message_id}', /control characters or a backslash/, 3],
    ['a newline', 'a\n/{message_id}', /control characters or a backslash/, 1],
    ['a DEL', '\u007f/{message_id}', /control characters or a backslash/, 0],
    ['a lone surrogate', 'a\uD800/{message_id}', /well-formed Unicode/],
    ['no {message_id}', '{project_id}/{channel}.json.gz', /must contain \{message_id\}/],
    ['{message_id} only with a fallback', '{project_id}/{message_id|x}', /must contain \{message_id\}/],
    ['literal text longer than the key limit', `${'x'.repeat(1030)}/{message_id}`, /literal text takes 1031 UTF-8 bytes/],
    ['literal text that leaves no byte for its placeholders', `${'é'.repeat(511)}/{channel}{message_id}`, /with its 2 placeholder\(s\) no key could fit the 1024-byte limit/],
  ];

  it.each(refused)('refuses %s', (_name, template, problem, position) => {
    const error = layoutError(template);
    expect(error).toBeInstanceOf(KeyLayoutError);
    expect(error.name).toBe('KeyLayoutError');
    expect(error.message).toMatch(problem);
    expect(error.template).toBe(template);
    expect(error.position).toBe(position);
    if (position !== undefined) expect(error.message).toContain(`at character ${position + 1}, in segment`);
  });

  it('names the segment of the problem', () => {
    expect(layoutError('sent_messages/{channel}/{campaign}/{message_id}').message).toBe(
      'Invalid key layout "sent_messages/{channel}/{campaign}/{message_id}": unknown placeholder "campaign"; use a message field (such as campaign_id), extras.NAME, channel, Channel, recipient, md5(recipient), sha256(recipient), hmac(recipient), yyyy, mm, dd, hh, yyyymm or yyyymmdd (at character 25, in segment 3 "{campaign}").',
    );
  });

  it('shows control characters in the template escaped', () => {
    expect(layoutError('a\u0000/{message_id}').message).toContain('"a\\u0000/{message_id}"');
  });

  it('refuses a template that is not a string', () => {
    expect(KeyLayoutError.isInstance(catchError(() => compileKeyLayout(undefined as unknown as string)))).toBe(true);
  });

  it('accepts literal text of 1,023 bytes minus its placeholders', () => {
    expect(compileKeyLayout(`${'x'.repeat(1022)}/{message_id}`).placeholders).toEqual(['message_id']);
  });

  it('recognizes its errors across copies of the package by a global symbol, not by class', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('sentcopy.key-layout-error')]: true });
    expect(KeyLayoutError.isInstance(foreign)).toBe(true);
    expect(KeyLayoutError.isInstance(new Error('x'))).toBe(false);
    expect(KeyLayoutError.isInstance(null)).toBe(false);
    expect(KeyLayoutError.isInstance(issuesOf)).toBe(false);
  });
});

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}
