/** The one duplicate-name check that the config schema and the Inferno importer share. */
import { duplicateMessage, repeats } from '../../lib/config/duplicates.js';

test('finds every occurrence after the first, in order', () => {
  expect(repeats(['a', 'b', 'a', 'c', 'b', 'a'])).toEqual([
    { value: 'a', index: 2 },
    { value: 'b', index: 4 },
    { value: 'a', index: 5 },
  ]);
  expect(repeats(['a', 'b'])).toEqual([]);
});

test('names the kind and the value', () => {
  expect(duplicateMessage('service class', 'premium')).toBe('duplicate service class premium');
});
