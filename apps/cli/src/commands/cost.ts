import { InvalidArgumentError, Option, type Command } from 'commander';
import { CliError, emit, exitCodes, textTable } from '../cli-kit/index.js';
import { costClouds, daysPerMonth, estimateCost, priceList, type CostCloud } from '../cost/estimate-cost.js';

interface CostOptions {
  readonly messagesPerDay: number;
  readonly avgKb: number;
  readonly retentionDays: number;
  readonly cloud: CostCloud;
  readonly storageClass?: string;
  readonly json?: boolean;
}

function positiveNumber(max: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value.replaceAll('_', ''));
    if (value.trim() === '' || !Number.isFinite(parsed) || parsed <= 0 || parsed > max) throw new InvalidArgumentError(`must be a number above 0 and at most ${max.toLocaleString('en-US')}.`);
    return parsed;
  };
}

function wholeDays(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || parsed < 1 || parsed > 36_500) throw new InvalidArgumentError('must be a whole number of days from 1 to 36500.');
  return parsed;
}

const dollars = (value: number) => (value >= 100 ? `$${Math.round(value).toLocaleString('en-US')}` : value >= 1 ? `$${value.toFixed(2)}` : `$${value.toFixed(4)}`);

/** `sentcopy cost`: what archiving costs on S3, Azure or GCS, from public list prices. */
export function registerCostCommand(program: Command): void {
  program
    .command('cost')
    .description('Estimate what archiving costs per month on S3, Azure Blob or GCS (writes and storage), and which storage classes cost more than they save.')
    .requiredOption('--messages-per-day <n>', 'messages archived per day', positiveNumber(1e12))
    .requiredOption('--avg-kb <kb>', 'average size of a stored object in KB, compressed (an SMS is about 0.3, an HTML email about 8–40)', positiveNumber(5_000_000))
    .requiredOption('--retention-days <days>', 'days each message is kept (a lifecycle rule deletes it after)', wholeDays)
    .addOption(new Option('--cloud <cloud>', 'where the bucket is').choices([...costClouds]).makeOptionMandatory())
    .option('--storage-class <class>', 'the class or tier to detail (default: STANDARD on S3 and GCS, Hot on Azure)')
    .option('--json', 'print the estimate as JSON')
    .addHelpText(
      'after',
      `
Prices are public list prices (pay as you go, first tier, one region) written into the CLI with
their date and source; requests other than writes, data transfer and taxes are not counted. The
figures are the steady state: once the archive holds --retention-days of messages. Every class of
the cloud is listed, so the traps show: classes with a 128 KB minimum object size or a 40 KB
per-object overhead, minimum storage durations and dearer writes can cost many times the
default for small objects such as messages.

Examples:
  $ sentcopy cost --messages-per-day 1000000 --avg-kb 2 --retention-days 365 --cloud s3
  $ sentcopy cost --messages-per-day 50000 --avg-kb 12 --retention-days 2555 --cloud gcs --storage-class COLDLINE --json`,
    )
    .action((options: CostOptions) => {
      const list = priceList.clouds[options.cloud];
      const wanted = options.storageClass ?? list.defaultClass;
      const selected = Object.keys(list.classes).find((name) => name.toLowerCase() === wanted.trim().toLowerCase());
      if (selected === undefined) {
        throw new CliError(`--storage-class "${wanted}" is not a class sentcopy cost knows for ${options.cloud}.`, { exitCode: exitCodes.usage, code: 'usage', hint: `Use one of: ${Object.keys(list.classes).join(', ')}.` });
      }
      const inputs = { messagesPerDay: options.messagesPerDay, averageKib: options.avgKb, retentionDays: options.retentionDays };
      const classes = estimateCost(options.cloud, inputs);
      const chosen = classes.find((entry) => entry.storageClass === selected)!;
      const cheapest = classes.reduce((best, entry) => (entry.totalPerMonth < best.totalPerMonth ? entry : best));
      emit(
        options,
        {
          inputs: { ...inputs, cloud: options.cloud, storageClass: selected, daysPerMonth },
          prices: { date: priceList.date, currency: priceList.currency, provider: list.name, region: list.region, pricingPage: list.pricingPage },
          selected: chosen,
          classes,
        },
        () =>
          [
            `${list.name}, ${list.region}: ${options.messagesPerDay.toLocaleString('en-US')} messages a day of ${options.avgKb} KB, kept ${options.retentionDays} days`,
            `(steady state: ${(options.messagesPerDay * options.retentionDays).toLocaleString('en-US')} objects stored). List prices of ${priceList.date}: ${list.pricingPage}`,
            '',
            textTable(
              ['CLASS', 'WRITES/MONTH', 'STORAGE/MONTH', 'TOTAL/MONTH', 'PER 1M MESSAGES', `VS ${list.defaultClass}`],
              classes.map((entry) => [
                `${entry.storageClass === selected ? '* ' : '  '}${entry.storageClass}`,
                dollars(entry.writesPerMonth),
                dollars(entry.storagePerMonth),
                dollars(entry.totalPerMonth),
                dollars(entry.perMillionMessages),
                `${entry.timesDefault.toFixed(2)}×`,
              ]),
              new Set([1, 2, 3, 4, 5]),
            ),
            '',
            `${selected}: ${dollars(chosen.totalPerMonth)} a month; each object is billed as ${chosen.billedKib} KB for ${chosen.billedDays} days.`,
            ...chosen.notes.map((note) => `  - ${note}`),
            ...(cheapest.storageClass !== selected && cheapest.totalPerMonth < chosen.totalPerMonth
              ? [`Cheapest here: ${cheapest.storageClass} (${dollars(cheapest.totalPerMonth)} a month)${cheapest.notes.length > 0 ? `, but: ${cheapest.notes.join('; ')}` : ''}.`]
              : []),
            `Figures: ${chosen.confirmed}. Requests other than writes, retrieval, data transfer and taxes are not included.`,
          ].join('\n'),
      );
    });
}
