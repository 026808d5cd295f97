using System.Globalization;
using System.Text.RegularExpressions;

namespace PgArchive.Backups.Delta;

/// <summary>
/// One fork of one relation, as PostgreSQL names it in WAL and WAL summaries: tablespace OID, database OID (0 for
/// shared relations in <c>global/</c>), relfilenumber and fork (0 main, 1 <c>_fsm</c>, 2 <c>_vm</c>, 3 <c>_init</c>).
/// </summary>
internal readonly partial record struct RelationFork(uint Tablespace, uint Database, uint RelFileNumber, byte Fork)
{
    /// <summary>The default tablespace (<c>base/</c>).</summary>
    public const uint DefaultTablespace = 1663;

    /// <summary>The shared tablespace (<c>global/</c>).</summary>
    public const uint GlobalTablespace = 1664;

    /// <summary>The main fork.</summary>
    public const byte MainFork = 0;

    /// <summary>The free space map fork (<c>_fsm</c>).</summary>
    public const byte FreeSpaceMapFork = 1;

    /// <summary>The visibility map fork (<c>_vm</c>).</summary>
    public const byte VisibilityMapFork = 2;

    /// <summary>The init fork of an unlogged relation (<c>_init</c>).</summary>
    public const byte InitFork = 3;

    /// <summary>
    /// Reads the relation fork and segment number of a data-directory file: <c>base/DB/REL</c>, <c>global/REL</c>,
    /// <c>pg_tblspc/SPC/PG_17_.../DB/REL</c>, with an optional <c>_fsm</c>/<c>_vm</c>/<c>_init</c> and <c>.N</c>
    /// (segment N). False for anything else (temporary relations, other files).
    /// </summary>
    public static bool TryParse(string tarPath, out RelationFork fork, out uint segment)
    {
        ArgumentNullException.ThrowIfNull(tarPath);
        fork = default;
        segment = 0;
        var parts = tarPath.Split('/');
        uint tablespace, database;
        string file;
        switch (parts)
        {
            case ["global", var name]:
                (tablespace, database, file) = (GlobalTablespace, 0, name);
                break;
            case ["base", var db, var name] when TryOid(db, out database):
                (tablespace, file) = (DefaultTablespace, name);
                break;
            case ["pg_tblspc", var spc, _, var db, var name] when TryOid(spc, out tablespace) && TryOid(db, out database):
                file = name;
                break;
            default:
                return false;
        }

        var match = FileName().Match(file);
        if (!match.Success || !TryOid(match.Groups[1].Value, out var relFileNumber) ||
            (match.Groups[3].Success && !uint.TryParse(match.Groups[3].Value, NumberStyles.None, CultureInfo.InvariantCulture, out segment)))
        {
            return false;
        }

        var forkNumber = match.Groups[2].Value switch
        {
            "fsm" => FreeSpaceMapFork,
            "vm" => VisibilityMapFork,
            "init" => InitFork,
            _ => MainFork,
        };
        fork = new RelationFork(tablespace, database, relFileNumber, forkNumber);
        return true;
    }

    private static bool TryOid(string text, out uint oid) =>
        uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out oid) && oid != 0;

    [GeneratedRegex(@"^(\d+)(?:_(fsm|vm|init))?(?:\.(\d+))?$", RegexOptions.CultureInvariant)]
    private static partial Regex FileName();
}
