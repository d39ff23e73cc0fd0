// Word-level tokens for Japanese (and English) through kuromoji's IPADIC analyser: the index stores each
// word's surface and dictionary form, and queries keep their content words, so one- or two-word Japanese
// queries ("有給", "経費 精算") match even where a trigram index cannot (terms under three characters).
import { createRequire } from 'node:module';
import path from 'node:path';
import kuromoji from 'kuromoji';
import { ShitateError } from '../errors.js';
import { cleanControls } from '../data/sanitize.js';

type Token = kuromoji.IpadicFeatures;

let loading: Promise<Morph> | null = null;

/** The analyser, built once per process (reading the dictionary takes a second or two). */
export function loadMorph(): Promise<Morph> {
  if (!loading) {
    const dicPath = path.join(path.dirname(createRequire(import.meta.url).resolve('kuromoji/package.json')), 'dict');
    loading = new Promise((resolve, reject) => {
      kuromoji.builder({ dicPath }).build((err, t) => {
        if (err) reject(new ShitateError('E_KB_MORPH', `could not load the Japanese dictionary from ${dicPath}: ${err.message}`, 'reinstall shitate (npm ci)'));
        else resolve(new Morph(t));
      });
    });
  }
  return loading;
}

/** The normal form both indexes and queries use: control characters and broken UTF-16 cleaned (the
 *  analyser crashes on NUL and lone surrogates), NFKC (full-width digits and letters become ASCII,
 *  half-width katakana full-width), lower case. */
export const normalize = (s: string): string => cleanControls(s).normalize('NFKC').toLowerCase();

const STOP_EN = new Set(('a an the is are was were be been being do does did how what when where which who whom whose why can could ' +
  'should would will shall may might must i me my you your we our us they their them it its of in on at to for from by with about as ' +
  'and or not no if then than so any some have has had get got please tell there here this that these those into out up').split(' '));
const STOP_JA = new Set(['する', 'ある', 'いる', 'なる', 'できる', 'れる', 'られる', 'こと', 'もの', 'よう', 'ため', 'どう', '何', 'なに', 'なん',
  'いつ', 'どこ', 'どれ', '誰', 'どの', 'どんな', 'くらい', 'ぐらい', '教える', '知る', '下さい', 'ください', 'です', 'ます', 'の', 'ん', 'さ']);
const CONTENT_POS = new Set(['名詞', '動詞', '形容詞', '副詞', '接頭詞', '連体詞', '未知語']);
const CJK = /[\u3040-\u30ff\u3400-\u9fff]/;

const isWordy = (s: string): boolean => /[\p{L}\p{N}]/u.test(s);

/** A Latin-script word as the analyser would report it: an unknown noun, its own dictionary form. */
function latinToken(w: string): Token {
  return {
    word_id: 0, word_type: 'UNKNOWN', word_position: 0, surface_form: w, pos: '名詞', pos_detail_1: '一般', pos_detail_2: '*',
    pos_detail_3: '*', conjugated_type: '*', conjugated_form: '*', basic_form: '*',
  };
}

export interface QueryTerms {
  /** words for the kuromoji-tokenised index */
  words: string[];
  /** phrases of three or more characters for the trigram index (compound nouns joined) */
  phrases: string[];
}

export class Morph {
  constructor(private readonly t: kuromoji.Tokenizer<Token>) {}

  /** Word tokens. Lines without Japanese skip the analyser (it is the slow part) and split on non-letters,
   *  which is what it does with Latin text anyway. */
  tokens(text: string): Token[] {
    const out: Token[] = [];
    for (const line of normalize(text).split('\n')) {
      if (CJK.test(line)) {
        for (const k of this.t.tokenize(line)) if (k.pos !== '記号' && isWordy(k.surface_form)) out.push(k);
      } else {
        for (const w of line.match(/[\p{L}\p{N}]+/gu) ?? []) out.push(latinToken(w));
      }
    }
    return out;
  }

  /** Space-separated words for the index: each surface form, plus its dictionary form when different. */
  indexText(text: string): string {
    const out: string[] = [];
    for (const k of this.tokens(text)) {
      out.push(k.surface_form);
      if (k.basic_form && k.basic_form !== '*' && k.basic_form !== k.surface_form) out.push(k.basic_form);
    }
    return out.join(' ');
  }

  /** Whether a token carries meaning for search (nouns, verbs, adjectives, ...; not particles or stop words). */
  isContent(k: Token): boolean {
    const s = k.surface_form;
    if (!CONTENT_POS.has(k.pos) || STOP_JA.has(s) || STOP_JA.has(k.basic_form) || STOP_EN.has(s)) return false;
    if (k.pos === '名詞' && (k.pos_detail_1 === '非自立' || k.pos_detail_1 === '代名詞')) return false;
    if (k.pos === '動詞' && k.pos_detail_1 === '非自立') return false;
    return true;
  }

  queryTerms(query: string): QueryTerms {
    const words = new Set<string>();
    const phrases = new Set<string>();
    let run = '';
    const endRun = () => {
      if ([...run].length >= 3) phrases.add(run);
      run = '';
    };
    for (const k of this.tokens(query)) {
      if (!this.isContent(k)) {
        endRun();
        continue;
      }
      const s = k.surface_form;
      words.add(s);
      if (k.basic_form && k.basic_form !== '*' && k.basic_form !== s) words.add(k.basic_form);
      const joinable = CJK.test(s) && (k.pos === '名詞' || k.pos === '接頭詞');
      if (joinable && CJK.test(run.slice(-1))) run += s;
      else {
        endRun();
        run = s;
        if (!joinable) endRun();
      }
    }
    endRun();
    return { words: [...words], phrases: [...phrases] };
  }
}

/** An FTS5 query matching any of the terms, each quoted so no term is read as syntax. */
export function anyOf(terms: readonly string[]): string | null {
  return terms.length ? terms.map((t) => `"${t.replace(/"/g, '""')}"`).join(' OR ') : null;
}
