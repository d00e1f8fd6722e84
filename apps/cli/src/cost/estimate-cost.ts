import prices from './prices.json' with { type: 'json' };

/** The clouds `sentcopy cost` knows prices for. */
export const costClouds = ['s3', 'azure', 'gcs'] as const;

/** One of {@link costClouds}. */
export type CostCloud = (typeof costClouds)[number];

/** Prices of one storage class, as in `prices.json`. */
export interface StorageClassPrices {
  /** USD per GiB-month stored. */
  readonly storagePerGibMonth: number;
  /** USD per 1,000 object writes (PUT, Class A operation, write operation). */
  readonly writesPerThousand: number;
  /** Smallest size an object is billed for, in KiB (0: its real size). */
  readonly minimumObjectKib: number;
  /** KiB added to every object at this class's rate (archive metadata). */
  readonly overheadKib: number;
  /** KiB added to every object at the cloud's default class rate (archive index). */
  readonly overheadStandardKib: number;
  /** Days an object is billed for at least, even when deleted sooner. */
  readonly minimumDays: number;
  /** What reading costs or takes, when it is more than a request. */
  readonly retrievalNote?: string;
  /** Which of these figures were confirmed, and from where. */
  readonly confirmed: string;
}

/** What `prices.json` holds for one cloud. */
export interface CloudPrices {
  readonly name: string;
  readonly region: string;
  readonly pricingPage: string;
  readonly defaultClass: string;
  readonly classes: Readonly<Record<string, StorageClassPrices>>;
}

/** The price list `sentcopy cost` uses, with its date. */
export const priceList = prices as unknown as { readonly date: string; readonly currency: string; readonly clouds: Readonly<Record<CostCloud, CloudPrices>> };

/** Average days in a month (365.25 / 12). */
export const daysPerMonth = 30.4375;

/** Inputs of {@link estimateCost}. */
export interface CostInputs {
  /** Messages archived per day (one object each). */
  readonly messagesPerDay: number;
  /** Average size of a stored object in KiB, compressed as stored (1 KiB = 1,024 bytes). */
  readonly averageKib: number;
  /** Days each message is kept before a lifecycle rule deletes it. */
  readonly retentionDays: number;
}

/** The cost of one storage class for the inputs, at steady state (the archive holding `retentionDays` of messages). */
export interface ClassCost {
  /** The storage class or access tier, as the cloud names it. */
  readonly storageClass: string;
  /** USD per month for writing the month's objects. */
  readonly writesPerMonth: number;
  /** USD per month for storing them, minimums and overheads included. */
  readonly storagePerMonth: number;
  /** `writesPerMonth + storagePerMonth`. */
  readonly totalPerMonth: number;
  /** USD to write one million messages and keep them for the retention period. */
  readonly perMillionMessages: number;
  /** Size each object is billed for, in KiB (minimum and overheads included). */
  readonly billedKib: number;
  /** Days each object is billed for (the retention, or the class's minimum if longer). */
  readonly billedDays: number;
  /** `totalPerMonth` over the default class's. */
  readonly timesDefault: number;
  /** The traps that apply, in sentences. */
  readonly notes: readonly string[];
  /** Which figures were confirmed. */
  readonly confirmed: string;
}

const kibPerGib = 1024 * 1024;
const round = (value: number, digits = 4) => Number(value.toFixed(digits));

/** Estimates every storage class of `cloud` for the inputs (pure; prices from `prices.json`). */
export function estimateCost(cloud: CostCloud, inputs: CostInputs): ClassCost[] {
  const list = priceList.clouds[cloud];
  const standard = list.classes[list.defaultClass]!;
  const raw = Object.entries(list.classes).map(([storageClass, price]) => {
    const billedKib = Math.max(inputs.averageKib, price.minimumObjectKib) + price.overheadKib;
    const billedDays = Math.max(inputs.retentionDays, price.minimumDays);
    // Per object: its class-rate bytes plus any index bytes billed at the default class's rate, for billedDays.
    const perObjectMonthly = (billedKib * price.storagePerGibMonth + price.overheadStandardKib * standard.storagePerGibMonth) / kibPerGib;
    const storagePerMonth = inputs.messagesPerDay * billedDays * perObjectMonthly;
    const writesPerMonth = (inputs.messagesPerDay * daysPerMonth * price.writesPerThousand) / 1000;
    const perMillionMessages = 1_000_000 * (price.writesPerThousand / 1000 + (perObjectMonthly * billedDays) / daysPerMonth);
    return { storageClass, price, billedKib: billedKib + price.overheadStandardKib, billedDays, storagePerMonth, writesPerMonth, perMillionMessages };
  });
  const defaultTotal = raw.find((entry) => entry.storageClass === list.defaultClass)!;
  const defaultMonthly = defaultTotal.storagePerMonth + defaultTotal.writesPerMonth;
  return raw.map((entry) => {
    const total = entry.storagePerMonth + entry.writesPerMonth;
    const notes: string[] = [];
    const { price } = entry;
    if (price.minimumObjectKib > inputs.averageKib) {
      notes.push(`bills every object as ${price.minimumObjectKib} KB: ${round(price.minimumObjectKib / inputs.averageKib, 1)}× the size of a ${inputs.averageKib} KB message`);
    }
    if (price.overheadKib + price.overheadStandardKib > 0) {
      notes.push(`adds ${price.overheadKib + price.overheadStandardKib} KB of metadata to every object (${price.overheadKib} KB at this class's rate, ${price.overheadStandardKib} KB at ${list.defaultClass}'s)`);
    }
    if (price.minimumDays > inputs.retentionDays) {
      notes.push(`bills at least ${price.minimumDays} days per object (deleting sooner is charged the rest), more than the ${inputs.retentionDays}-day retention`);
    }
    if (price.writesPerThousand > standard.writesPerThousand) {
      notes.push(`writes cost ${round(price.writesPerThousand / standard.writesPerThousand, 1)}× ${list.defaultClass}'s`);
    }
    if (price.retrievalNote !== undefined) notes.push(price.retrievalNote);
    return {
      storageClass: entry.storageClass,
      writesPerMonth: round(entry.writesPerMonth),
      storagePerMonth: round(entry.storagePerMonth),
      totalPerMonth: round(total),
      perMillionMessages: round(entry.perMillionMessages),
      billedKib: round(entry.billedKib, 3),
      billedDays: entry.billedDays,
      timesDefault: defaultMonthly === 0 ? 1 : round(total / defaultMonthly, 2),
      notes,
      confirmed: price.confirmed,
    };
  });
}
