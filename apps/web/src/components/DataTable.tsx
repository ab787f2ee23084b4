'use client';
// The dashboard's tables: a header row of column titles, one row per item, and an empty state
// below the table. Each page keeps its own classes (the list pages are bare tables in a ring, the
// tables inside cards are lighter); this only removes the repeated table markup.
import { Fragment, type HTMLAttributes, type Key, type ReactNode } from 'react';

export interface Column<T> {
  header: ReactNode;
  /** Class of the header cell. */
  headerClassName?: string;
  cell: (row: T) => ReactNode;
  /** Class of the body cells, fixed or per row. */
  className?: string | ((row: T) => string);
  /** Tooltip of a body cell. */
  title?: (row: T) => string | undefined;
  /** A sortable column's state, as the header's aria-sort (the header holds its own sort button). */
  sort?: 'ascending' | 'descending' | 'none';
}

/** Attributes of a body row: classes and the data-* attributes the end-to-end tests look for. */
export type RowAttributes = HTMLAttributes<HTMLTableRowElement> & { [data: `data-${string}`]: string | undefined };

export interface DataTableProps<T> {
  /** data-testid of the table. */
  testId: string;
  /** Columns in order; a falsy entry is a column left out (e.g. for a role that may not act). */
  columns: (Column<T> | false | null | undefined)[];
  rows: readonly T[];
  rowKey: (row: T) => Key;
  rowAttributes?: (row: T) => RowAttributes;
  headClassName?: string;
  bodyClassName?: string;
  /** Shown after the table when there are no rows; nothing when absent. */
  empty?: ReactNode;
  /** Class of the table (default: as wide as its content, at least the container). */
  tableClassName?: string;
  /** A row's details, in a full-width row below it; null when collapsed. */
  expanded?: (row: T) => ReactNode | null;
}

export function DataTable<T>({
  testId,
  columns,
  rows,
  rowKey,
  rowAttributes,
  headClassName,
  bodyClassName,
  empty,
  tableClassName = 'min-w-full text-sm',
  expanded,
}: DataTableProps<T>) {
  const cols = columns.filter((c): c is Column<T> => Boolean(c));
  return (
    <>
      <table className={tableClassName} data-testid={testId}>
        <thead className={headClassName}>
          <tr>
            {cols.map((c, i) => (
              <th key={i} className={c.headerClassName} aria-sort={c.sort}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className={bodyClassName}>
          {rows.map((row) => {
            const more = expanded?.(row);
            return (
              <Fragment key={rowKey(row)}>
                <tr {...rowAttributes?.(row)}>
                  {cols.map((c, i) => (
                    <td key={i} className={typeof c.className === 'function' ? c.className(row) : c.className} title={c.title?.(row)}>
                      {c.cell(row)}
                    </td>
                  ))}
                </tr>
                {more && (
                  <tr data-expanded-of={String(rowKey(row))}>
                    <td colSpan={cols.length}>{more}</td>
                  </tr>
                )}
              </Fragment>
            );
          })}
        </tbody>
      </table>
      {rows.length === 0 && empty}
    </>
  );
}
