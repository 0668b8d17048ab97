import ts from 'typescript';

/**
 * Build-time check that a JavaScript bundle stays inside the subset the Espruino interpreter (2v29) accepts,
 * per shared/research/espruino-language.md. Node and TypeScript accept all of this, so a test under Node would
 * not notice; the board would fail with a SyntaxError, a ReferenceError or — worse — a silent wrong result.
 *
 * The code is parsed with the TypeScript compiler (as JavaScript) and every finding names the line, the rule
 * and the fix.
 */
export interface SubsetIssue {
  line: number;
  column: number;
  rule: string;
  message: string;
}

const MISSING_GLOBALS = ['Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef', 'Symbol', 'Proxy', 'Reflect', 'BigInt', 'TextEncoder', 'TextDecoder', 'setImmediate', 'queueMicrotask'];
const MISSING_STATICS: Record<string, string[]> = {
  Array: ['from', 'of'],
  Object: ['freeze', 'isFrozen', 'seal', 'isSealed', 'is'],
  Number: ['isInteger', 'isFinite', 'isNaN', 'isSafeInteger', 'parseFloat', 'parseInt', 'EPSILON', 'MAX_SAFE_INTEGER', 'MIN_SAFE_INTEGER'],
  Math: ['fround', 'imul', 'clz32', 'trunc', 'log2', 'log10', 'log1p', 'hypot', 'cbrt', 'sinh', 'cosh', 'tanh', 'expm1'],
  String: ['fromCodePoint', 'raw'],
  ArrayBuffer: ['isView'],
  Uint8Array: ['from', 'of'],
  Int8Array: ['from', 'of'],
  Uint16Array: ['from', 'of'],
  Int16Array: ['from', 'of'],
  Uint32Array: ['from', 'of'],
  Int32Array: ['from', 'of'],
  Float32Array: ['from', 'of'],
  Float64Array: ['from', 'of'],
};
const MISSING_METHODS = ['at', 'flat', 'flatMap', 'findLast', 'findLastIndex', 'lastIndexOf', 'reduceRight', 'copyWithin', 'codePointAt', 'normalize', 'localeCompare', 'matchAll', 'search', 'trimStart', 'trimEnd'];
const BUILTIN_CTORS = ['Array', 'String', 'Object', 'Function', 'Number', 'Boolean', 'RegExp', 'Date', 'Error', 'Promise'];
const ERROR_CLASSES = ['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError'];

/** Finds what Espruino's regex engine gets wrong: any `?` (quantifier, lazy, group syntax) and `{n}` / `{n,m}`. */
export function regexProblem(pattern: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '?') return `\`?\` at offset ${i}`;
    else if (c === '{' && /[0-9]/.test(pattern[i + 1] ?? '')) return `\`{n}\` repetition at offset ${i}`;
  }
  return undefined;
}

const isFunctionLike = (n: ts.Node): boolean =>
  ts.isFunctionDeclaration(n) || ts.isFunctionExpression(n) || ts.isArrowFunction(n) || ts.isMethodDeclaration(n) || ts.isConstructorDeclaration(n) || ts.isGetAccessor(n) || ts.isSetAccessor(n);

/** An identifier used as a value (not a property name, a declared name or an object key). */
function isReference(id: ts.Identifier): boolean {
  const p = id.parent;
  if (!p) return true;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return false;
  if ((ts.isPropertyAssignment(p) || ts.isMethodDeclaration(p) || ts.isPropertyDeclaration(p) || ts.isGetAccessor(p) || ts.isSetAccessor(p)) && p.name === id) return false;
  if ((ts.isVariableDeclaration(p) || ts.isFunctionDeclaration(p) || ts.isFunctionExpression(p) || ts.isParameter(p) || ts.isClassDeclaration(p) || ts.isClassExpression(p) || ts.isBindingElement(p)) && p.name === id) return false;
  if ((ts.isLabeledStatement(p) || ts.isBreakOrContinueStatement(p)) && p.label === id) return false;
  return true;
}

/** Names declared anywhere inside a function (parameters, var/let/const, functions, catch variables). */
function declaredIn(fn: ts.Node): Set<string> {
  const names = new Set<string>();
  const add = (n: ts.BindingName | undefined): void => {
    if (n && ts.isIdentifier(n)) names.add(n.text);
  };
  const visit = (n: ts.Node): void => {
    if (ts.isParameter(n) || ts.isVariableDeclaration(n)) add(n.name);
    else if ((ts.isFunctionDeclaration(n) || ts.isFunctionExpression(n)) && n.name) names.add(n.name.text);
    n.forEachChild(visit);
  };
  fn.forEachChild(visit);
  return names;
}

/** Identifiers referenced in `n`; with `eagerOnly`, not those inside nested functions (they run later). */
function referencesIn(n: ts.Node, eagerOnly: boolean): ts.Identifier[] {
  const out: ts.Identifier[] = [];
  const visit = (x: ts.Node): void => {
    if (eagerOnly && isFunctionLike(x)) return;
    if (ts.isIdentifier(x) && isReference(x)) out.push(x);
    x.forEachChild(visit);
  };
  if (eagerOnly && isFunctionLike(n)) return out;
  n.forEachChild(visit);
  return out;
}

export function checkEspruinoSubset(code: string, fileName = 'bundle.js'): SubsetIssue[] {
  const sf = ts.createSourceFile(fileName, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const issues: SubsetIssue[] = [];
  const report = (node: ts.Node, rule: string, message: string): void => {
    const pos = sf.getLineAndCharacterOfPosition(node.getStart(sf));
    issues.push({ line: pos.line + 1, column: pos.character + 1, rule, message });
  };

  // Syntax errors first: the board would refuse the whole file.
  const diags = (sf as unknown as { parseDiagnostics?: ts.Diagnostic[] }).parseDiagnostics ?? [];
  for (const d of diags) {
    const pos = sf.getLineAndCharacterOfPosition(d.start ?? 0);
    issues.push({ line: pos.line + 1, column: pos.character + 1, rule: 'syntax', message: ts.flattenDiagnosticMessageText(d.messageText, '\n') });
  }

  const checkStatementList = (stmts: readonly ts.Statement[]): void => {
    const declAt = new Map<string, number>();
    stmts.forEach((s, i) => {
      if (ts.isFunctionDeclaration(s) && s.name) declAt.set(s.name.text, i);
    });
    if (declAt.size === 0) return;
    const bodyRefs = new Map<string, ts.Identifier[]>();
    const refsOfFunction = (name: string): ts.Identifier[] => {
      let r = bodyRefs.get(name);
      if (!r) {
        const fn = stmts[declAt.get(name)!] as ts.FunctionDeclaration;
        const local = declaredIn(fn);
        r = fn.body ? referencesIn(fn.body, false).filter((id) => !local.has(id.text)) : [];
        bodyRefs.set(name, r);
      }
      return r;
    };
    stmts.forEach((s, i) => {
      if (ts.isFunctionDeclaration(s)) return;
      // What runs when statement i runs: its own references, plus the bodies of the local functions it calls.
      const seen = new Set<string>();
      const work = referencesIn(s, true).map((id) => ({ id, via: '' }));
      while (work.length) {
        const { id, via } = work.pop()!;
        const j = declAt.get(id.text);
        if (j === undefined || seen.has(id.text)) continue;
        seen.add(id.text);
        if (j > i) {
          const declLine = sf.getLineAndCharacterOfPosition(stmts[j]!.getStart(sf)).line + 1;
          report(
            id,
            'function-hoisting',
            `function ${id.text} is used${via ? ` (through ${via})` : ''} before its declaration on line ${declLine}: Espruino does not hoist function declarations; declare it first`,
          );
        } else {
          for (const r of refsOfFunction(id.text)) work.push({ id: r, via: via || `${id.text}()` });
        }
      }
    });
  };

  const visit = (node: ts.Node): void => {
    if (ts.isSourceFile(node) || ts.isBlock(node) || ts.isModuleBlock(node) || ts.isCaseClause(node) || ts.isDefaultClause(node)) {
      checkStatementList(node.statements);
    }

    if (ts.isObjectBindingPattern(node) || ts.isArrayBindingPattern(node)) {
      report(node, 'destructuring', 'destructuring is not implemented in Espruino: assign the fields one by one');
    } else if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.EqualsToken && (ts.isObjectLiteralExpression(node.left) || ts.isArrayLiteralExpression(node.left))) {
      report(node, 'destructuring', 'destructuring assignment is not implemented in Espruino: assign the fields one by one');
    } else if (ts.isSpreadElement(node) || ts.isSpreadAssignment(node)) {
      report(node, 'spread', 'spread `...` is a SyntaxError on Espruino: use concat / Object.assign / apply');
    } else if (ts.isParameter(node)) {
      if (node.dotDotDotToken) report(node, 'rest-parameter', 'rest parameter `...` is a SyntaxError on Espruino: use `arguments`');
      if (node.initializer) report(node, 'default-parameter', 'default parameter values are a SyntaxError on Espruino: test for undefined in the body');
    } else if (ts.isAwaitExpression(node)) {
      report(node, 'async', '`await` is not supported by Espruino: use callbacks or promise.then');
    } else if (ts.isYieldExpression(node)) {
      report(node, 'generator', 'generators (`yield`) are a SyntaxError on Espruino');
    } else if (ts.isBinaryExpression(node) && (node.operatorToken.kind === ts.SyntaxKind.AsteriskAsteriskToken || node.operatorToken.kind === ts.SyntaxKind.AsteriskAsteriskEqualsToken)) {
      report(node, 'exponent', 'the `**` operator is a SyntaxError on Espruino: use Math.pow');
    } else if (ts.isTaggedTemplateExpression(node)) {
      report(node, 'tagged-template', 'tagged templates are a SyntaxError on Espruino');
    } else if (ts.isComputedPropertyName(node)) {
      report(node, 'computed-key', 'computed property keys `{[k]: v}` are a SyntaxError on Espruino: assign o[k] = v after creating the object');
    } else if (ts.isLabeledStatement(node)) {
      report(node, 'label', `labelled statements (\`${node.label.text}:\`) fail on Espruino (ReferenceError on break/continue): use a flag`);
    } else if (ts.isOmittedExpression(node)) {
      report(node, 'array-hole', 'array holes `[a, , b]` fail on Espruino (TypeScript\'s __generator emits them): write `undefined`');
    } else if (ts.isRegularExpressionLiteral(node)) {
      const body = node.text.slice(1, node.text.lastIndexOf('/'));
      const p = regexProblem(body);
      if (p) report(node, 'regex', `regex ${node.text}: ${p}; Espruino's regex engine silently mismatches \`?\` and \`{n,m}\` — only \`*\` and \`+\` work`);
    }

    if (isFunctionLike(node)) {
      const f = node as ts.FunctionLikeDeclaration;
      if (f.modifiers?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword)) report(node, 'async', 'async functions are not supported by Espruino (`async` is not defined): use callbacks or promise.then');
      if (f.asteriskToken) report(node, 'generator', 'generator functions `function*` are a SyntaxError on Espruino');
    }

    if ((ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node) || ts.isCallExpression(node)) && node.questionDotToken) {
      report(node, 'optional-chaining', 'optional chaining `?.` is a SyntaxError on Espruino: test for undefined explicitly');
    }

    if (ts.isIdentifier(node) && isReference(node)) {
      const p = node.parent;
      const underTypeof = ts.isTypeOfExpression(p);
      if (MISSING_GLOBALS.includes(node.text) && !underTypeof) report(node, 'missing-global', `${node.text} does not exist on Espruino: use plain objects/arrays`);
      if ((node.text === 'module' || node.text === 'exports') && !underTypeof) report(node, 'module', `\`${node.text}\` is undefined at the top level on Espruino: bundle to a plain script (IIFE)`);
      const arg = ts.isCallExpression(p) && p.expression === node ? p.arguments[0] : undefined;
      if (node.text === 'require' && arg && ts.isStringLiteral(arg) && /^[./]/.test(arg.text)) {
        report(node, 'module', `require(${JSON.stringify(arg.text)}): a file module left unbundled; Espruino only has built-in modules and Modules.addCached`);
      }
    }

    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      const owner = node.expression.text;
      const name = node.name.text;
      if (MISSING_STATICS[owner]?.includes(name)) report(node, 'missing-api', `${owner}.${name} does not exist on Espruino`);
      if (name === 'prototype' && BUILTIN_CTORS.includes(owner) && ts.isPropertyAccessExpression(node.parent) && node.parent.expression === node) {
        const assigned = ts.isBinaryExpression(node.parent.parent) && node.parent.parent.left === node.parent && node.parent.parent.operatorToken.kind === ts.SyntaxKind.EqualsToken;
        if (!assigned) report(node, 'builtin-prototype', `${owner}.prototype.${node.parent.name.text} is undefined on Espruino (built-ins are not visible on prototypes): call it on an instance, e.g. [].slice.call(x)`);
      }
    }

    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const name = node.expression.name.text;
      const recv = node.expression.expression;
      // String#search(regex) is missing; a zero-argument search() is another API (OneWire#search).
      if (MISSING_METHODS.includes(name) && !(name === 'search' && node.arguments.length === 0) && !(ts.isIdentifier(recv) && (MISSING_STATICS[recv.text] || BUILTIN_CTORS.includes(recv.text)))) {
        report(node, 'missing-api', `.${name}() does not exist on Espruino's arrays/strings`);
      }
      if ((name === 'keys' || name === 'values' || name === 'entries') && node.arguments.length === 0) {
        report(node, 'missing-api', `.${name}() iterators do not exist on Espruino: use Object.${name}(x) or an index loop`);
      }
      if (ts.isIdentifier(recv) && recv.text === 'RegExp') { /* static RegExp members are fine */ }
    }

    if ((ts.isNewExpression(node) || ts.isCallExpression(node)) && ts.isIdentifier(node.expression) && node.expression.text === 'RegExp') {
      const a = node.arguments?.[0];
      if (a && (ts.isStringLiteral(a) || ts.isNoSubstitutionTemplateLiteral(a))) {
        const p = regexProblem(a.text);
        if (p) report(node, 'regex', `RegExp(${JSON.stringify(a.text)}): ${p}; Espruino's regex engine silently mismatches \`?\` and \`{n,m}\``);
      }
    }

    if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isPropertyAccessExpression(node.left) && node.left.name.text === 'length') {
      report(node, 'array-length', 'assigning `.length` throws on Espruino ("Assignment to a constant"): use splice');
    }

    if ((ts.isClassDeclaration(node) || ts.isClassExpression(node)) && node.heritageClauses) {
      for (const h of node.heritageClauses) {
        for (const t of h.types) {
          if (ts.isIdentifier(t.expression) && ERROR_CLASSES.includes(t.expression.text)) {
            report(node, 'extends-error', `\`class extends ${t.expression.text}\` fails on Espruino ("Calling 'super' outside of class"): use X.prototype = Object.create(Error.prototype)`);
          }
        }
      }
    }

    if ((ts.isForStatement(node) || ts.isForInStatement(node) || ts.isForOfStatement(node)) && node.initializer && ts.isVariableDeclarationList(node.initializer) && node.initializer.flags & (ts.NodeFlags.Let | ts.NodeFlags.Const)) {
      const names = new Set<string>();
      for (const d of node.initializer.declarations) if (ts.isIdentifier(d.name)) names.add(d.name.text);
      let captured: ts.Identifier | undefined;
      const find = (x: ts.Node): void => {
        if (captured) return;
        if (isFunctionLike(x)) {
          for (const id of referencesIn(x, false)) if (names.has(id.text)) captured = captured ?? id;
          return;
        }
        x.forEachChild(find);
      };
      find(node.statement);
      if (captured) report(captured, 'let-loop-closure', `a closure captures the loop variable \`${captured.text}\`: Espruino has no per-iteration binding for let/const in for-loops (every closure sees the last value); pass it to a function instead`);
    }

    if (ts.isReturnStatement(node) && !node.expression) {
      const text = node.getText(sf);
      if (!text.trimEnd().endsWith(';')) {
        const after = code.slice(node.end).match(/^\s*(\S)/);
        if (after && after[1] !== '}' && after[1] !== ';') report(node, 'return-asi', 'a bare `return` ended by a line break is a SyntaxError on Espruino: write `return;`');
      }
    }

    node.forEachChild(visit);
  };
  visit(sf);
  issues.sort((a, b) => a.line - b.line || a.column - b.column);
  return issues;
}

export function formatIssues(issues: SubsetIssue[], fileName: string): string {
  return issues.map((i) => `${fileName}:${i.line}:${i.column} [${i.rule}] ${i.message}`).join('\n');
}

// CLI: `npx tsx firmware/build/check-subset.ts file.js…` checks any script before it goes onto a board.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const { readFileSync } = await import('node:fs');
  let bad = 0;
  for (const f of process.argv.slice(2)) {
    const issues = checkEspruinoSubset(readFileSync(f, 'utf8'), f);
    bad += issues.length;
    if (issues.length) console.error(formatIssues(issues, f));
    else console.log(`${f}: inside Espruino's subset`);
  }
  process.exit(bad ? 1 : 0);
}
