import { describe, expect, it } from 'vitest';
import { Bm25Index, expandQuery, tokenize } from '../../src/vectors/lexical-ranker.js';
import { collectionNameForNamespace, splitIdentifier, toolDocument, toolEmbeddingText } from '../../src/vectors/tool-document.js';

const CHROMA_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$/;

describe('tool documents', () => {
  it('splits tool names written in any identifier style into words', () => {
    expect(splitIdentifier('get_weather')).toBe('get weather');
    expect(splitIdentifier('getPullRequestFiles')).toBe('get pull request files');
    expect(splitIdentifier('trigger-long-running-operation')).toBe('trigger long running operation');
    expect(splitIdentifier('maps.searchPlaces')).toBe('maps search places');
    expect(splitIdentifier('parseHTMLDocument')).toBe('parse html document');
  });

  it('puts name, words, title, description and parameters into the stored document', () => {
    const doc = toolDocument({
      name: 'get_forecast',
      title: 'Forecast',
      description: 'Daily weather forecast.',
      inputSchema: { type: 'object', properties: { city: { type: 'string', description: 'City name' }, days: { type: 'integer' } } },
    });
    expect(doc).toContain('get_forecast');
    expect(doc).toContain('get forecast');
    expect(doc).toContain('Forecast');
    expect(doc).toContain('Daily weather forecast.');
    expect(doc).toContain('Parameters: city (City name); days');
  });

  it('embeds the description, falling back to title or name words for terse tools', () => {
    const schema = { type: 'object' };
    expect(toolEmbeddingText({ name: 'x', description: 'Read the complete contents of a file', inputSchema: schema })).toBe(
      'Read the complete contents of a file',
    );
    expect(toolEmbeddingText({ name: 'get_env', description: null, inputSchema: schema })).toBe('get env');
    expect(toolEmbeddingText({ name: 'sum', title: 'Get Sum', description: 'Adds', inputSchema: schema })).toBe('Get Sum. Adds');
  });
});

describe('collection names', () => {
  it('are valid Chroma names for any namespace, and distinct for distinct namespaces', () => {
    const namespaces = ['default', 'a', 'team b/with spaces', 'team_b_with_spaces', 'ünïcödé', '..', 'x'.repeat(300), ''];
    const names = namespaces.map((namespace) => collectionNameForNamespace(namespace));
    for (const name of names) expect(name).toMatch(CHROMA_NAME);
    expect(new Set(names).size).toBe(namespaces.length);
    expect(collectionNameForNamespace('default')).toBe(collectionNameForNamespace('default'));
  });

  it('start with the deployment prefix, so deployments sharing a Chroma never share a collection', () => {
    const longest = 'p'.repeat(31);
    expect(collectionNameForNamespace('x'.repeat(300), longest)).toMatch(CHROMA_NAME);
    expect(collectionNameForNamespace('default', 'blue')).toMatch(/^blue-ns-/);
    expect(collectionNameForNamespace('default', 'blue')).not.toBe(collectionNameForNamespace('default', 'green'));
  });
});

describe('lexical ranking', () => {
  it('tokenizes identifiers and folds simple inflections together', () => {
    expect(tokenize('listPullRequests')).toEqual(tokenize('list pull request'));
    expect(tokenize('created files')).toEqual(tokenize('create file'));
    expect(tokenize('the of and')).toEqual([]);
  });

  it('expands everyday words to tool vocabulary at a lower weight', () => {
    const terms = expandQuery('make a folder');
    expect(terms.get(tokenize('folder')[0]!)).toBe(1);
    expect(terms.get(tokenize('directory')[0]!)).toBeLessThan(1);
    expect(terms.get(tokenize('create')[0]!)).toBeLessThan(1);
  });

  it('scores documents that share rare query terms highest', () => {
    const index = new Bm25Index(['create a directory on disk', 'send a chat message', 'read a file from disk']);
    const [directory, chat, file] = index.score('make a new folder', { expand: true });
    expect(directory).toBeGreaterThan(0);
    expect(directory).toBeGreaterThan(chat!);
    expect(directory).toBeGreaterThan(file!);
    expect(index.score('make a new folder')).toEqual([0, 0, 0]);
  });
});
