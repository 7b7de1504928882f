import t from 'tap';
import { bindingsFor, filterCovers, isValidFilter, minimalFilters, parseTopicAnnotation, topicMatches } from './topics.js';

t.test('annotation parsing: comma list, blanks, duplicates, invalid filters', async (t) => {
  t.same(parseTopicAnnotation(' a/b , c/+/d,, a/b ,e/#'), { filters: ['a/b', 'c/+/d', 'e/#'], invalid: [] });
  t.same(parseTopicAnnotation('ok, bad/#/x, x+y, #'), { filters: ['ok', '#'], invalid: ['bad/#/x', 'x+y'] });
  t.same(parseTopicAnnotation(undefined), { filters: [], invalid: [] });
  t.notOk(isValidFilter(''));
  t.notOk(isValidFilter('a/b#'));
  t.ok(isValidFilter('+/+/#'));
});

t.test('matching follows MQTT wildcard rules', async (t) => {
  t.ok(topicMatches('a/b', 'a/b'));
  t.notOk(topicMatches('a/b', 'a/b/c'));
  t.ok(topicMatches('a/+', 'a/x'));
  t.notOk(topicMatches('a/+', 'a/x/y'));
  t.ok(topicMatches('a/+', 'a/'), 'empty level matches +');
  t.ok(topicMatches('a/#', 'a'), '# matches the parent level');
  t.ok(topicMatches('a/#', 'a/x/y/z'));
  t.ok(topicMatches('#', 'anything/at/all'));
  t.notOk(topicMatches('#', '$SYS/broker'), 'wildcards do not match $ topics');
  t.notOk(topicMatches('+/broker', '$SYS/broker'));
  t.ok(topicMatches('$SYS/#', '$SYS/broker'));
});

t.test('coverage and the minimal subscription set', async (t) => {
  t.ok(filterCovers('a/#', 'a/b/c'));
  t.ok(filterCovers('a/#', 'a/+'));
  t.ok(filterCovers('+/b', 'x/b'));
  t.notOk(filterCovers('a/+', 'a/#'));
  t.notOk(filterCovers('a/b', 'a/+'));
  t.notOk(filterCovers('#', '$SYS/x'));
  t.same(minimalFilters(['a/b', 'a/#', 'c/d', 'a/+/c', 'c/d']), ['a/#', 'c/d']);
  t.same(minimalFilters(['x/+', 'x/y', 'z']), ['x/+', 'z']);
  t.same(minimalFilters(['#', '$SYS/load']), ['#', '$SYS/load']);
});

t.test('bindings from function annotations', async (t) => {
  const fns = [
    { name: 'a', namespace: 'openfaas-fn', image: 'i', annotations: { topic: 't/1, t/2', 'topic-reply': 'r/a' } },
    { name: 'b', namespace: 'dev', image: 'i', annotations: { topic: 't/#/bad' } },
    { name: 'c', image: 'i', annotations: null },
    { name: 'd', image: 'i', annotations: { topic: 't/1' } },
  ];
  const { bindings, invalid } = bindingsFor(fns, 'topic', 'topic-reply');
  t.same(bindings, [
    { filter: 't/1', fn: 'a.openfaas-fn', replyTopic: 'r/a' },
    { filter: 't/2', fn: 'a.openfaas-fn', replyTopic: 'r/a' },
    { filter: 't/1', fn: 'd', replyTopic: undefined },
  ]);
  t.same(invalid, [{ fn: 'b.dev', filter: 't/#/bad' }]);
  t.same(bindingsFor(fns, 'topic', undefined).bindings[0], { filter: 't/1', fn: 'a.openfaas-fn', replyTopic: undefined });
});
