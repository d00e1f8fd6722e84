import * as vitest from 'vitest';
import { runDestinationConformance } from '../src/index.js';
import { createMemoryDestination } from './memory-destination.js';

const { destination, backdoor } = createMemoryDestination();
runDestinationConformance({ name: 'reference in-memory destination', runner: vitest, createDestination: () => destination, backdoor });
