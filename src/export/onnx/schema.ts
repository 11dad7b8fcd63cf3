/**
 * The subset of the ONNX protobuf schema (onnx.proto, proto2 syntax) that the
 * exporter writes and the tools read back, defined with protobufjs'
 * reflection API from a JSON descriptor written here. Field names and numbers
 * are those of onnx.proto; repeated numeric fields are packed exactly where
 * onnx.proto says `[packed = true]` (TensorProto's *_data fields), so the
 * bytes are what the reference implementation writes. Unknown fields (e.g.
 * training info, functions, sparse tensors) are skipped when decoding.
 *
 * Plain objects in / out: `encodeModel` takes a `ModelProto` object literal,
 * `decodeModel` returns one with int64 values as JS numbers and bytes as
 * Uint8Array (int64 values beyond 2^53 do not occur in exported graphs).
 */
import protobuf from 'protobufjs';

/** onnx.proto TensorProto.DataType. */
export enum DataType {
  UNDEFINED = 0,
  FLOAT = 1,
  UINT8 = 2,
  INT8 = 3,
  UINT16 = 4,
  INT16 = 5,
  INT32 = 6,
  INT64 = 7,
  STRING = 8,
  BOOL = 9,
  FLOAT16 = 10,
  DOUBLE = 11,
  UINT32 = 12,
  UINT64 = 13,
  COMPLEX64 = 14,
  COMPLEX128 = 15,
  BFLOAT16 = 16,
}

/** onnx.proto AttributeProto.AttributeType. */
export enum AttributeType {
  UNDEFINED = 0,
  FLOAT = 1,
  INT = 2,
  STRING = 3,
  TENSOR = 4,
  GRAPH = 5,
  SPARSE_TENSOR = 11,
  TYPE_PROTO = 13,
  FLOATS = 6,
  INTS = 7,
  STRINGS = 8,
  TENSORS = 9,
  GRAPHS = 10,
  SPARSE_TENSORS = 12,
  TYPE_PROTOS = 14,
}

export interface StringStringEntryProto {
  key?: string;
  value?: string;
}

export interface OperatorSetIdProto {
  domain?: string;
  version?: number;
}

export interface TensorProto {
  dims?: number[];
  data_type?: DataType;
  float_data?: number[];
  int32_data?: number[];
  string_data?: Uint8Array[];
  int64_data?: number[];
  name?: string;
  doc_string?: string;
  raw_data?: Uint8Array;
  double_data?: number[];
  uint64_data?: number[];
}

export interface AttributeProto {
  name?: string;
  ref_attr_name?: string;
  doc_string?: string;
  type?: AttributeType;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
  tensors?: TensorProto[];
  graphs?: GraphProto[];
}

export interface NodeProto {
  input?: string[];
  output?: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  attribute?: AttributeProto[];
  doc_string?: string;
}

export interface TensorShapeDimension {
  dim_value?: number;
  dim_param?: string;
  denotation?: string;
}

export interface TensorShapeProto {
  dim?: TensorShapeDimension[];
}

export interface TypeProtoTensor {
  elem_type?: DataType;
  shape?: TensorShapeProto;
}

export interface TypeProto {
  tensor_type?: TypeProtoTensor;
  denotation?: string;
}

export interface ValueInfoProto {
  name?: string;
  type?: TypeProto;
  doc_string?: string;
}

export interface GraphProto {
  node?: NodeProto[];
  name?: string;
  initializer?: TensorProto[];
  doc_string?: string;
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  value_info?: ValueInfoProto[];
}

export interface ModelProto {
  ir_version?: number;
  opset_import?: OperatorSetIdProto[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: number;
  doc_string?: string;
  graph?: GraphProto;
  metadata_props?: StringStringEntryProto[];
}

type FieldJson = { id: number; type: string; rule?: 'repeated'; options?: { packed: boolean } };
const f = (id: number, type: string): FieldJson => ({ id, type });
const rep = (id: number, type: string, packed?: boolean): FieldJson =>
  packed === undefined ? { id, type, rule: 'repeated' } : { id, type, rule: 'repeated', options: { packed } };

/** Field numbers from onnx.proto (ONNX IR version 10 / 11 schema). */
const DESCRIPTOR = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: f(1, 'string'),
            ref_attr_name: f(21, 'string'),
            doc_string: f(13, 'string'),
            type: f(20, 'AttributeType'),
            f: f(2, 'float'),
            i: f(3, 'int64'),
            s: f(4, 'bytes'),
            t: f(5, 'TensorProto'),
            g: f(6, 'GraphProto'),
            floats: rep(7, 'float', false),
            ints: rep(8, 'int64', false),
            strings: rep(9, 'bytes'),
            tensors: rep(10, 'TensorProto'),
            graphs: rep(11, 'GraphProto'),
          },
          nested: {
            AttributeType: {
              values: {
                UNDEFINED: 0,
                FLOAT: 1,
                INT: 2,
                STRING: 3,
                TENSOR: 4,
                GRAPH: 5,
                SPARSE_TENSOR: 11,
                TYPE_PROTO: 13,
                FLOATS: 6,
                INTS: 7,
                STRINGS: 8,
                TENSORS: 9,
                GRAPHS: 10,
                SPARSE_TENSORS: 12,
                TYPE_PROTOS: 14,
              },
            },
          },
        },
        ValueInfoProto: {
          fields: { name: f(1, 'string'), type: f(2, 'TypeProto'), doc_string: f(3, 'string') },
        },
        NodeProto: {
          fields: {
            input: rep(1, 'string'),
            output: rep(2, 'string'),
            name: f(3, 'string'),
            op_type: f(4, 'string'),
            domain: f(7, 'string'),
            attribute: rep(5, 'AttributeProto'),
            doc_string: f(6, 'string'),
          },
        },
        ModelProto: {
          fields: {
            ir_version: f(1, 'int64'),
            opset_import: rep(8, 'OperatorSetIdProto'),
            producer_name: f(2, 'string'),
            producer_version: f(3, 'string'),
            domain: f(4, 'string'),
            model_version: f(5, 'int64'),
            doc_string: f(6, 'string'),
            graph: f(7, 'GraphProto'),
            metadata_props: rep(14, 'StringStringEntryProto'),
          },
        },
        StringStringEntryProto: {
          fields: { key: f(1, 'string'), value: f(2, 'string') },
        },
        GraphProto: {
          fields: {
            node: rep(1, 'NodeProto'),
            name: f(2, 'string'),
            initializer: rep(5, 'TensorProto'),
            doc_string: f(10, 'string'),
            input: rep(11, 'ValueInfoProto'),
            output: rep(12, 'ValueInfoProto'),
            value_info: rep(13, 'ValueInfoProto'),
          },
        },
        TensorProto: {
          fields: {
            dims: rep(1, 'int64', false),
            data_type: f(2, 'int32'),
            float_data: rep(4, 'float', true),
            int32_data: rep(5, 'int32', true),
            string_data: rep(6, 'bytes'),
            int64_data: rep(7, 'int64', true),
            name: f(8, 'string'),
            doc_string: f(12, 'string'),
            raw_data: f(9, 'bytes'),
            double_data: rep(10, 'double', true),
            uint64_data: rep(11, 'uint64', true),
          },
          nested: {
            DataType: {
              values: {
                UNDEFINED: 0,
                FLOAT: 1,
                UINT8: 2,
                INT8: 3,
                UINT16: 4,
                INT16: 5,
                INT32: 6,
                INT64: 7,
                STRING: 8,
                BOOL: 9,
                FLOAT16: 10,
                DOUBLE: 11,
                UINT32: 12,
                UINT64: 13,
                COMPLEX64: 14,
                COMPLEX128: 15,
                BFLOAT16: 16,
              },
            },
          },
        },
        TensorShapeProto: {
          fields: { dim: rep(1, 'Dimension') },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dim_value', 'dim_param'] } },
              fields: { dim_value: f(1, 'int64'), dim_param: f(2, 'string'), denotation: f(3, 'string') },
            },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ['tensor_type'] } },
          fields: { tensor_type: f(1, 'Tensor'), denotation: f(6, 'string') },
          nested: {
            Tensor: { fields: { elem_type: f(1, 'int32'), shape: f(2, 'TensorShapeProto') } },
          },
        },
        OperatorSetIdProto: {
          fields: { domain: f(1, 'string'), version: f(2, 'int64') },
        },
      },
    },
  },
};

let root: protobuf.Root | null = null;

function modelType(): protobuf.Type {
  root ??= protobuf.Root.fromJSON(DESCRIPTOR);
  return root.lookupType('onnx.ModelProto');
}

/** The reflected protobufjs type of a message of the schema (e.g. `TensorProto`), for tests and tools. */
export function onnxType(name: string): protobuf.Type {
  modelType();
  return root!.lookupType(`onnx.${name}`);
}

/** Serialises a model. */
export function encodeModel(model: ModelProto): Uint8Array {
  const type = modelType();
  const err = type.verify(model);
  if (err) throw new Error(`onnx: invalid ModelProto: ${err}`);
  return type.encode(model as Record<string, unknown>).finish();
}

/** Parses a serialised model; throws a clear error for bytes that are not an ONNX model. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const type = modelType();
  let msg: protobuf.Message;
  try {
    msg = type.decode(bytes);
  } catch (err) {
    throw new Error(`not an ONNX model (protobuf decode failed: ${(err as Error).message})`);
  }
  return type.toObject(msg, { longs: Number, enums: Number, bytes: Uint8Array, arrays: false, defaults: false }) as ModelProto;
}
