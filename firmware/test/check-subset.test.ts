import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { buildBundle, SIZE_LIMIT } from '../build/build.ts';
import { checkEspruinoSubset, regexProblem } from '../build/check-subset.ts';

// Each snippet is something Node runs fine and Espruino 2v29 does not (shared/research/espruino-language.md).
const OFFENDERS: [rule: string, code: string, message: RegExp][] = [
  ['destructuring', 'var o = {a: 1}; var {a} = o;', /destructuring is not implemented/],
  ['destructuring', 'var arr = [1, 2]; var [x, y] = arr;', /destructuring/],
  ['destructuring', 'function f({a}) { return a }', /destructuring/],
  ['destructuring', 'var x, y; [x, y] = [y, x];', /destructuring assignment/],
  ['spread', 'var a = [1]; var b = [0, ...a];', /spread/],
  ['spread', 'var o = {}; var p = {...o};', /spread/],
  ['spread', 'Math.max(...[1, 2]);', /spread/],
  ['rest-parameter', 'function f(a, ...r) { return r }', /rest parameter/],
  ['default-parameter', 'function f(a, b = 10) { return a + b }', /default parameter/],
  ['async', 'async function f() { return 1 }', /async functions/],
  ['async', 'var f = async () => { await null; };', /await/],
  ['generator', 'function* g() { yield 1 }', /generator/],
  ['missing-global', 'var m = new Map();', /Map does not exist/],
  ['missing-global', 'var s = new Set([1]);', /Set does not exist/],
  ['missing-global', 'var k = Symbol("x");', /Symbol/],
  ['function-hoisting', 'var x = g(); function g() { return 1 }', /function g is used before its declaration/],
  ['function-hoisting', 'function f() { return g(); function g() { return 1 } }', /function g is used before/],
  ['function-hoisting', 'function a() { return b() } var x = a(); function b() { return 1 }', /function b is used \(through a\(\)\) before/],
  ['regex', 'var r = /colou?r/;', /regex .*`\?`/],
  ['regex', 'var r = /\\d{4}-\\d{2}/;', /`\{n\}`/],
  ['regex', 'var r = /(?:ab)+/;', /`\?`/],
  ['regex', 'var r = new RegExp("a{2,3}");', /RegExp\(/],
  ['let-loop-closure', 'var fs = []; for (let i = 0; i < 3; i++) fs.push(function () { return i });', /per-iteration binding/],
  ['exponent', 'var x = 2 ** 10;', /\*\*/],
  ['optional-chaining', 'var o = {}; var v = o?.a;', /optional chaining/],
  ['tagged-template', 'function t(s) { return s } t`a${1}b`;', /tagged templates/],
  ['computed-key', 'var k = "a"; var o = {[k + "1"]: 5};', /computed property keys/],
  ['label', 'outer: for (var i = 0; i < 3; i++) { for (;;) { continue outer } }', /labelled/],
  ['array-hole', 'var a = [2, 4, , 5];', /array holes/],
  ['return-asi', 'function f(a) {\n  if (!a) return\n  var h = 1\n  return h\n}', /bare `return`/],
  ['array-length', 'var a = [1, 2, 3]; a.length = 1;', /splice/],
  ['builtin-prototype', 'function f() { return Array.prototype.slice.call(arguments) }', /Array\.prototype\.slice is undefined/],
  ['builtin-prototype', 'var s = Object.prototype.toString.call([]);', /Object\.prototype\.toString/],
  ['missing-api', 'var a = Array.from("abc");', /Array\.from does not exist/],
  ['missing-api', 'var x = Math.trunc(1.5) + Math.fround(0.1);', /Math\.trunc/],
  ['missing-api', 'var ok = Number.isInteger(3);', /Number\.isInteger/],
  ['missing-api', 'var l = [1, 2].at(-1);', /\.at\(\)/],
  ['missing-api', 'var it = [1, 2].entries();', /iterators/],
  ['extends-error', 'class MyErr extends Error { constructor(m) { super(m) } }', /class extends Error/],
  ['module', 'module.exports = {};', /`module` is undefined/],
  ['syntax', 'var = 1;', /./],
];

describe('check-subset', () => {
  for (const [rule, code, message] of OFFENDERS) {
    it(`rejects ${rule}: ${code.replace(/\n/g, ' ')}`, () => {
      const issues = checkEspruinoSubset(code);
      const hit = issues.find((i) => i.rule === rule && message.test(i.message));
      expect(hit, JSON.stringify(issues)).toBeDefined();
      expect(hit!.line).toBeGreaterThanOrEqual(1);
    });
  }

  it('accepts what Espruino does run', () => {
    const ok = [
      'var o = {v: 7, f: function () { return [1].map(x => this.v)[0] }};',
      'let a = 1; const b = 2; { let a = 5 } var c = `n=${a + b}`;',
      'class A { constructor(x) { this.x = x } get dbl() { return 2 * this.x } static s() { return 1 } }',
      'function g() { return 1 } var x = g();',
      'function a() { return b() } function b() { return 1 } var y = a();', // b is defined before a() runs
      'var r = /^[0-9a-f]+$/i; var s = "a?b".replace(/[?]/g, "") + "x".split(/\\s*/);',
      'for (var v of [1, 2, 3]) v++; var n = null ?? "d";',
      'for (let i = 0; i < 3; i++) { var q = i * 2 }', // no closure: the missing per-iteration binding does not matter
      'var fs = []; for (var i = 0; i < 3; i++) fs.push((function (j) { return function () { return j } })(i));',
      'var k = Object.keys({a: 1}); var l = [1, 2].slice(1); if (typeof Symbol !== "undefined") {}',
      'var ow = {search: function () { return [] }}; ow.search();',
      'function f(a) { if (!a) return; return a }',
      'Array.prototype.myOwn = function () { return 1 };',
      'var mod = require("net");',
    ];
    for (const code of ok) expect(checkEspruinoSubset(code), code).toEqual([]);
  });

  it('rejects TypeScript\'s ES5 output of async code (__awaiter/__generator) as emitted', () => {
    const es5 = ts.transpileModule('export async function f(p: Promise<number>) { try { return await p } finally { g() } } function g() {}', {
      compilerOptions: { target: ts.ScriptTarget.ES5, module: ts.ModuleKind.None },
    }).outputText;
    const rules = new Set(checkEspruinoSubset(es5).map((i) => i.rule));
    expect(rules.has('array-hole') || rules.has('function-hoisting')).toBe(true);
  });

  it('reads regex patterns like Espruino does', () => {
    expect(regexProblem('a+b*')).toBeUndefined();
    expect(regexProblem('[?{1}]')).toBeUndefined(); // inside a class these are literal characters
    expect(regexProblem('a\\?')).toBeUndefined(); // escaped
    expect(regexProblem('ab?')).toMatch(/offset 2/);
  });

  it('the real bundle passes, is minified to ≤ 32 KB, and keeps its platform entry', async () => {
    const r = await buildBundle();
    expect(r.issues).toEqual([]);
    expect(r.bytes).toBeLessThanOrEqual(SIZE_LIMIT);
    expect(r.bytes).toBeGreaterThan(5000);
    expect(r.code.split('\n').length).toBeLessThan(5); // minified
    expect(r.code).toContain('espruinoRequire("Storage")');
    // Nothing ES2015+ that the ES5 step should have lowered, beyond what Espruino runs anyway.
    expect(r.code).not.toMatch(/=>|\bclass\s|\blet\s|\bconst\s|`/);
  });
});
