namespace PgArchive.Wal.Records;

/// <summary>
/// One fork of one relation file set, as WAL names it: tablespace, database and relfilenode (RelFileNode, RelFileLocator
/// from PostgreSQL 16: same layout) plus the fork (0 main, 1 free space map, 2 visibility map, 3 init).
/// A <see cref="Relation"/> of 0 stands for every relation of the tablespace and database (a database created or
/// dropped), as PostgreSQL's WAL summarizer records it.
/// </summary>
/// <param name="Tablespace">The tablespace OID.</param>
/// <param name="Database">The database OID (0 for shared relations).</param>
/// <param name="Relation">The relfilenode; 0 for the whole database.</param>
/// <param name="Fork">The fork number.</param>
internal readonly record struct RelationFork(uint Tablespace, uint Database, uint Relation, byte Fork) : IComparable<RelationFork>
{
    /// <summary>The main fork.</summary>
    public const byte MainFork = 0;

    /// <summary>The free space map, which WAL does not fully log.</summary>
    public const byte FreeSpaceMapFork = 1;

    /// <summary>The visibility map.</summary>
    public const byte VisibilityMapFork = 2;

    /// <summary>The highest fork number (init).</summary>
    public const byte MaxFork = 3;

    /// <inheritdoc />
    public int CompareTo(RelationFork other)
    {
        var c = Tablespace.CompareTo(other.Tablespace);
        c = c != 0 ? c : Database.CompareTo(other.Database);
        c = c != 0 ? c : Relation.CompareTo(other.Relation);
        return c != 0 ? c : Fork.CompareTo(other.Fork);
    }

    /// <summary>Orders by tablespace, database, relation, fork.</summary>
    public static bool operator <(RelationFork left, RelationFork right) => left.CompareTo(right) < 0;

    /// <summary>Orders by tablespace, database, relation, fork.</summary>
    public static bool operator >(RelationFork left, RelationFork right) => left.CompareTo(right) > 0;

    /// <summary>Orders by tablespace, database, relation, fork.</summary>
    public static bool operator <=(RelationFork left, RelationFork right) => left.CompareTo(right) <= 0;

    /// <summary>Orders by tablespace, database, relation, fork.</summary>
    public static bool operator >=(RelationFork left, RelationFork right) => left.CompareTo(right) >= 0;

    /// <inheritdoc />
    public override string ToString() => $"{Tablespace}/{Database}/{Relation} fork {Fork}";
}
